package batching

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

// realBackend is the shipped linear model: the batcher is tested on a real
// classifier, wrapped only to observe and inject failures.
func realBackend(t testing.TB) classifier.Classifier {
	t.Helper()
	fsys, err := models.Linear()
	if err != nil {
		t.Fatal(err)
	}
	m, err := linear.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// probe wraps a backend: it records each batch, can hold batches at a gate
// and can fail batches containing a marker text.
type probe struct {
	classifier.Classifier
	mu      sync.Mutex
	batches [][]string
	gate    chan struct{} // when non-nil, each batch waits until it is closed
	started chan int      // receives each batch's size as it starts
	failOn  string
	short   bool // return one result too few
}

func (p *probe) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	p.mu.Lock()
	p.batches = append(p.batches, slices.Clone(texts))
	p.mu.Unlock()
	if p.started != nil {
		p.started <- len(texts)
	}
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if p.failOn != "" && slices.Contains(texts, p.failOn) {
		return nil, errors.New("injected backend failure")
	}
	res, err := p.Classifier.ClassifyBatch(ctx, texts)
	if p.short && err == nil {
		res = res[:len(res)-1]
	}
	return res, err
}

func (p *probe) sizes() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, b := range p.batches {
		out = append(out, len(b))
	}
	return out
}

func (b *Batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// waitQueued polls until n requests are queued (functional, not timing).
func waitQueued(t *testing.T, b *Batcher, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); b.queued() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d, want %d", b.queued(), n)
		}
	}
}

type outcome struct {
	text string
	res  classifier.Result
	err  error
}

func classifyAsync(b *Batcher, ctx context.Context, texts []string) chan outcome {
	out := make(chan outcome, len(texts))
	for _, text := range texts {
		go func() {
			r, err := b.Classify(ctx, text)
			out <- outcome{text, r, err}
		}()
	}
	return out
}

// wantInnerResults reads n outcomes and fails unless each is inner's own
// result for its text.
func wantInnerResults(t *testing.T, inner classifier.Classifier, out chan outcome, n int) {
	t.Helper()
	for range n {
		o := <-out
		if o.err != nil {
			t.Fatal(o.err)
		}
		want, err := inner.Classify(context.Background(), o.text)
		if err != nil {
			t.Fatal(err)
		}
		if o.res.Label != want.Label || !slices.Equal(o.res.Scores, want.Scores) {
			t.Fatalf("%q: got %v, want %v", o.text, o.res, want)
		}
	}
}

func TestResultsMatchBackend(t *testing.T) {
	inner := realBackend(t)
	b := New(&probe{Classifier: inner}, Options{MaxBatchSize: 8, MaxBatchWait: time.Millisecond})
	defer func() { _ = b.Close() }()
	texts := []string{"What is the derivative of sin(x)?", "Which court hears appeals?", "", "enzyme kinetics", "GDP growth"}
	var all []string
	for i := range 40 {
		all = append(all, texts[i%len(texts)])
	}
	wantInnerResults(t, inner, classifyAsync(b, context.Background(), all), len(all))
	if !slices.Equal(b.Labels(), inner.Labels()) {
		t.Fatal("labels differ")
	}
}

// TestGathering: a lone request runs alone at once, requests arriving while
// a batch runs leave together, and MaxBatchSize splits them.
func TestGathering(t *testing.T) {
	tests := []struct {
		name      string
		maxSize   int
		queued    int
		wantSizes []int
	}{
		{name: "all in one", maxSize: 8, queued: 5, wantSizes: []int{1, 5}},
		{name: "split by max", maxSize: 4, queued: 10, wantSizes: []int{1, 4, 4, 2}},
		{name: "no batching", maxSize: 1, queued: 3, wantSizes: []int{1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &probe{Classifier: realBackend(t), gate: make(chan struct{}), started: make(chan int, 100)}
			// A huge MaxBatchWait would stall the first request if it waited.
			b := New(p, Options{MaxBatchSize: tt.maxSize, MaxBatchWait: time.Hour})
			defer func() { _ = b.Close() }()
			first := classifyAsync(b, context.Background(), []string{"first"})
			if n := <-p.started; n != 1 {
				t.Fatalf("first batch size %d", n)
			}
			var texts []string
			for i := range tt.queued {
				texts = append(texts, fmt.Sprintf("text %d", i))
			}
			rest := classifyAsync(b, context.Background(), texts)
			waitQueued(t, b, tt.queued)
			close(p.gate)
			if o := <-first; o.err != nil {
				t.Fatal(o.err)
			}
			for range texts {
				if o := <-rest; o.err != nil {
					t.Fatal(o.err)
				}
			}
			if got := p.sizes(); !slices.Equal(got, tt.wantSizes) {
				t.Fatalf("batch sizes %v, want %v", got, tt.wantSizes)
			}
		})
	}
}

// TestLingerWithSeveralWorkers: with a batch in flight, a free worker waits
// up to MaxBatchWait to fill its batch.
func TestLingerWithSeveralWorkers(t *testing.T) {
	p := &probe{Classifier: realBackend(t), gate: make(chan struct{}), started: make(chan int, 100)}
	b := New(p, Options{MaxBatchSize: 3, MaxBatchWait: time.Hour, Workers: 2})
	defer func() { _ = b.Close() }()
	blocked := classifyAsync(b, context.Background(), []string{"blocker"})
	<-p.started
	out := classifyAsync(b, context.Background(), []string{"a", "b"})
	waitQueued(t, b, 2) // the free worker lingers: two are fewer than three
	out2 := classifyAsync(b, context.Background(), []string{"c"})
	if n := <-p.started; n != 3 {
		t.Fatalf("second batch size %d, want 3 (filled while lingering)", n)
	}
	close(p.gate)
	for _, ch := range []chan outcome{blocked, out, out, out2} {
		if o := <-ch; o.err != nil {
			t.Fatal(o.err)
		}
	}
}

func TestCancelledWaiterLeavesBatch(t *testing.T) {
	p := &probe{Classifier: realBackend(t), gate: make(chan struct{}), started: make(chan int, 100)}
	b := New(p, Options{MaxBatchSize: 8})
	defer func() { _ = b.Close() }()
	first := classifyAsync(b, context.Background(), []string{"first"})
	<-p.started
	ctx, cancel := context.WithCancel(context.Background())
	gone := classifyAsync(b, ctx, []string{"cancel me"})
	kept := classifyAsync(b, context.Background(), []string{"keep me"})
	waitQueued(t, b, 2)
	cancel()
	if o := <-gone; !errors.Is(o.err, context.Canceled) {
		t.Fatalf("cancelled waiter: err = %v", o.err)
	}
	close(p.gate)
	for _, ch := range []chan outcome{first, kept} {
		if o := <-ch; o.err != nil {
			t.Fatal(o.err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.batches) != 2 || !slices.Equal(p.batches[1], []string{"keep me"}) {
		t.Fatalf("batches %v, want the cancelled text left out", p.batches)
	}
}

func TestBackendFailures(t *testing.T) {
	tests := []struct {
		name string
		p    *probe
		want string
	}{
		{name: "error", p: &probe{failOn: "boom"}, want: "injected backend failure"},
		{name: "short result", p: &probe{short: true}, want: "returned 1 results for 2 texts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Classifier = realBackend(t)
			tt.p.gate, tt.p.started = make(chan struct{}), make(chan int, 100)
			b := New(tt.p, Options{MaxBatchSize: 8})
			defer func() { _ = b.Close() }()
			first := classifyAsync(b, context.Background(), []string{"first"})
			<-tt.p.started
			out := classifyAsync(b, context.Background(), []string{"boom", "fine"})
			waitQueued(t, b, 2)
			close(tt.p.gate)
			<-first
			for range 2 {
				if o := <-out; o.err == nil || !strings.Contains(o.err.Error(), tt.want) {
					t.Fatalf("%q: err = %v, want %q", o.text, o.err, tt.want)
				}
			}
			// The batcher keeps working after a failed batch.
			tt.p.failOn, tt.p.short = "", false
			if _, err := b.Classify(context.Background(), "after"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	p := &probe{Classifier: realBackend(t), gate: make(chan struct{}), started: make(chan int, 100)}
	b := New(p, Options{MaxBatchSize: 8})
	running := classifyAsync(b, context.Background(), []string{"running"})
	<-p.started
	queued := classifyAsync(b, context.Background(), []string{"queued"})
	waitQueued(t, b, 1)
	closed := make(chan error)
	go func() { closed <- b.Close() }()
	if o := <-queued; !errors.Is(o.err, classifier.ErrClosed) {
		t.Fatalf("queued request: err = %v, want ErrClosed", o.err)
	}
	close(p.gate)
	if o := <-running; o.err != nil {
		t.Fatalf("running batch must finish: %v", o.err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := b.Classify(context.Background(), "x"); !errors.Is(err, classifier.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := b.ClassifyBatch(context.Background(), []string{"x"}); !errors.Is(err, classifier.ErrClosed) {
		t.Fatalf("batch after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func histCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	m := &dto.Metric{}
	if err := h.Write(m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func TestMetrics(t *testing.T) {
	size0, wait0 := histCount(t, BatchSize), histCount(t, BatchQueueWait)
	b := New(realBackend(t), Options{MaxBatchSize: 4})
	defer func() { _ = b.Close() }()
	for range 3 {
		if _, err := b.Classify(context.Background(), "x"); err != nil {
			t.Fatal(err)
		}
	}
	if got := histCount(t, BatchSize) - size0; got != 3 {
		t.Fatalf("batch size histogram observed %d batches, want 3", got)
	}
	if got := histCount(t, BatchQueueWait) - wait0; got != 3 {
		t.Fatalf("queue wait histogram observed %d requests, want 3", got)
	}
}

// embedder adds a one-value embedding (the text's length) to a backend's
// results, standing for a backend with an embedding output.
type embedder struct{ classifier.Classifier }

func (e embedder) EmbeddingDim() int { return 1 }

func (e embedder) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	res, err := e.Classifier.ClassifyBatch(ctx, texts)
	for i := range res {
		res[i].Embedding = []float32{float32(len(texts[i]))}
	}
	return res, err
}

// TestEmbeddingPassesThrough: each text of a gathered batch gets its own
// embedding back, and the batcher reports the backend's embedding length.
func TestEmbeddingPassesThrough(t *testing.T) {
	b := New(embedder{realBackend(t)}, Options{MaxBatchSize: 8})
	defer func() { _ = b.Close() }()
	if d := classifier.EmbeddingDimOf(b); d != 1 {
		t.Errorf("EmbeddingDimOf = %d, want 1", d)
	}
	texts := []string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff"}
	out := classifyAsync(b, context.Background(), texts)
	for range texts {
		o := <-out
		if o.err != nil {
			t.Fatal(o.err)
		}
		if len(o.res.Embedding) != 1 || int(o.res.Embedding[0]) != len(o.text) {
			t.Errorf("%q: embedding %v, want [%d]", o.text, o.res.Embedding, len(o.text))
		}
	}
}
