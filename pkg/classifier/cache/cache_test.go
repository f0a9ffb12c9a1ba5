package cache

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// fake labels a text by its length and counts its calls.
type fake struct {
	calls, batches atomic.Int64
	fail           string // a text that fails
	closed         bool
}

func (f *fake) Labels() []string { return []string{"even", "odd"} }

func (f *fake) Classify(_ context.Context, text string) (classifier.Result, error) {
	f.calls.Add(1)
	if text == f.fail {
		return classifier.Result{}, errors.New("boom")
	}
	l := len(text) % 2
	scores := []float32{0.25, 0.25}
	scores[l] = 0.75
	return classifier.Result{Label: f.Labels()[l], Confidence: 0.75, Scores: scores, Embedding: []float32{float32(l), 1}}, nil
}

func (f *fake) EmbeddingDim() int { return 2 }

func (f *fake) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	f.batches.Add(1)
	out := make([]classifier.Result, len(texts))
	for i, t := range texts {
		r, err := f.Classify(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func (f *fake) Close() error { f.closed = true; return nil }

func TestSizeZeroReturnsInner(t *testing.T) {
	f := &fake{}
	for _, size := range []int{0, -1} {
		if c := New(f, size); c != classifier.Classifier(f) {
			t.Errorf("New(inner, %d) wrapped the classifier", size)
		}
	}
}

func TestHitsMissesAndEviction(t *testing.T) {
	f := &fake{}
	c := New(f, 2).(*Cache)
	ctx := context.Background()
	hits0, misses0 := testutil.ToFloat64(Hits), testutil.ToFloat64(Misses)
	steps := []struct {
		text      string
		wantCalls int64
	}{
		{"a", 1},   // miss
		{"a", 1},   // hit
		{"bb", 2},  // miss
		{"a", 2},   // hit; "a" is now the most recent
		{"ccc", 3}, // miss; evicts "bb"
		{"a", 3},   // hit
		{"bb", 4},  // miss again
	}
	for i, s := range steps {
		r, err := c.Classify(ctx, s.text)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"even", "odd"}[len(s.text)%2]; r.Label != want {
			t.Errorf("step %d: label %s, want %s", i, r.Label, want)
		}
		if got := f.calls.Load(); got != s.wantCalls {
			t.Errorf("step %d (%q): inner called %d times, want %d", i, s.text, got, s.wantCalls)
		}
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
	if h := testutil.ToFloat64(Hits) - hits0; h != 3 {
		t.Errorf("hits counted %v, want 3", h)
	}
	if m := testutil.ToFloat64(Misses) - misses0; m != 4 {
		t.Errorf("misses counted %v, want 4", m)
	}
}

func TestResultsAreCopies(t *testing.T) {
	c := New(&fake{}, 4)
	ctx := context.Background()
	r1, _ := c.Classify(ctx, "a")
	r1.Scores[0], r1.Embedding[0] = 42, 42
	r2, _ := c.Classify(ctx, "a")
	if r2.Scores[0] == 42 || r2.Embedding[0] == 42 {
		t.Error("modifying a result changed the cached one")
	}
}

// TestEmbeddingKept: a cache hit carries the embedding of the miss, and the
// cache reports the inner classifier's embedding length.
func TestEmbeddingKept(t *testing.T) {
	f := &fake{}
	c := New(f, 4)
	if d := classifier.EmbeddingDimOf(c); d != 2 {
		t.Errorf("EmbeddingDimOf = %d, want the inner classifier's 2", d)
	}
	ctx := context.Background()
	miss, _ := c.Classify(ctx, "a")
	hit, _ := c.Classify(ctx, "a")
	batch, _ := c.ClassifyBatch(ctx, []string{"a", "bb"})
	if f.calls.Load() != 2 {
		t.Fatalf("%d inner calls, want 2 (a, bb)", f.calls.Load())
	}
	for _, r := range []classifier.Result{hit, batch[0]} {
		if !slices.Equal(r.Embedding, miss.Embedding) || len(r.Embedding) != 2 {
			t.Errorf("cached embedding %v, want %v", r.Embedding, miss.Embedding)
		}
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	f := &fake{fail: "bad"}
	c := New(f, 4)
	for range 2 {
		if _, err := c.Classify(context.Background(), "bad"); err == nil {
			t.Fatal("no error")
		}
	}
	if f.calls.Load() != 2 {
		t.Errorf("inner called %d times, want 2", f.calls.Load())
	}
}

func TestBatch(t *testing.T) {
	f := &fake{}
	c := New(f, 8)
	ctx := context.Background()
	if _, err := c.Classify(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	rs, err := c.ClassifyBatch(ctx, []string{"a", "bb", "ccc", "bb"})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range rs {
		labels = append(labels, r.Label)
	}
	if !slices.Equal(labels, []string{"odd", "even", "odd", "even"}) {
		t.Errorf("labels %v", labels)
	}
	// "a" came from the cache; the other three went to the inner batch.
	if f.calls.Load() != 4 || f.batches.Load() != 1 {
		t.Errorf("inner calls %d, batches %d", f.calls.Load(), f.batches.Load())
	}
	// All cached now: no further batch.
	if _, err := c.ClassifyBatch(ctx, []string{"bb", "ccc"}); err != nil || f.batches.Load() != 1 {
		t.Errorf("cached batch: err %v, batches %d", err, f.batches.Load())
	}
	f.fail = "dddd"
	if _, err := c.ClassifyBatch(ctx, []string{"a", "dddd"}); err == nil {
		t.Error("batch error not returned")
	}
}

func TestContextAndClose(t *testing.T) {
	f := &fake{}
	c := New(f, 4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Classify(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Classify: %v", err)
	}
	if _, err := c.ClassifyBatch(ctx, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("ClassifyBatch: %v", err)
	}
	if !slices.Equal(c.Labels(), f.Labels()) {
		t.Error("Labels")
	}
	if _, err := c.Classify(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil || !f.closed {
		t.Errorf("Close: %v, inner closed %v", err, f.closed)
	}
	if _, err := c.Classify(context.Background(), "a"); !errors.Is(err, classifier.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if _, err := c.ClassifyBatch(context.Background(), []string{"a"}); !errors.Is(err, classifier.ErrClosed) {
		t.Errorf("batch after Close: %v", err)
	}
}

// TestConcurrent hammers a small cache from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	c := New(&fake{}, 16)
	texts := []string{"a", "bb", "ccc", "dddd", "eeeee"}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 500 {
				tx := texts[(g*7+i)%len(texts)] + string(rune('a'+i%20))
				r, err := c.Classify(context.Background(), tx)
				if err != nil || r.Label != []string{"even", "odd"}[len(tx)%2] {
					t.Errorf("%q: %v %v", tx, r.Label, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := c.(*Cache).Len(); n > 16 {
		t.Errorf("cache grew to %d entries", n)
	}
}
