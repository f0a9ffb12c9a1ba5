package batching

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// preparing makes a probe a classifier.Preparer: Prepare wraps the text
// (waiting at gate when set), ClassifyPrepared unwraps it and runs the
// probe's batch. ClassifyBatch is the probe's and counted apart.
type preparing struct {
	*probe
	gate     chan struct{}
	prepares atomic.Int64
	prepared atomic.Int64 // texts that reached ClassifyPrepared
}

type preparedText struct{ text string }

func (p *preparing) Prepare(text string) classifier.Prepared {
	p.prepares.Add(1)
	if p.gate != nil {
		<-p.gate
	}
	return preparedText{text}
}

func (p *preparing) ClassifyPrepared(ctx context.Context, ps []classifier.Prepared) ([]classifier.Result, error) {
	texts := make([]string, len(ps))
	for i, v := range ps {
		pt, ok := v.(preparedText)
		if !ok {
			return nil, fmt.Errorf("input %d (%T) not prepared here", i, v)
		}
		texts[i] = pt.text
	}
	p.prepared.Add(int64(len(ps)))
	return p.ClassifyBatch(ctx, texts)
}

// TestPreparer: with a Preparer backend every queued text is prepared once
// and its batch runs through ClassifyPrepared, with the results in request
// order; with a plain backend batches run through ClassifyBatch.
func TestPreparer(t *testing.T) {
	texts := []string{"What is the derivative of sin(x)?", "Which court hears appeals?", "", "enzyme kinetics", "GDP growth"}
	var all []string
	for i := range 40 {
		all = append(all, texts[i%len(texts)])
	}
	for _, prep := range []bool{true, false} {
		t.Run(fmt.Sprintf("preparer=%v", prep), func(t *testing.T) {
			inner := realBackend(t)
			p := &preparing{probe: &probe{Classifier: inner}}
			var backend classifier.Classifier = p
			if !prep {
				backend = p.probe
			}
			b := New(backend, Options{MaxBatchSize: 8, MaxBatchWait: time.Millisecond, Workers: 2})
			defer func() { _ = b.Close() }()
			wantInnerResults(t, inner, classifyAsync(b, context.Background(), all), len(all))
			wantPrepared := int64(0)
			if prep {
				wantPrepared = int64(len(all))
			}
			if got := p.prepares.Load(); got != wantPrepared {
				t.Errorf("Prepare called %d times, want %d", got, wantPrepared)
			}
			if got := p.prepared.Load(); got != wantPrepared {
				t.Errorf("%d texts went through ClassifyPrepared, want %d", got, wantPrepared)
			}
		})
	}
}

// TestPrepareBeforeQueueing: a text is prepared in its caller's goroutine
// before it is queued, so a slow Prepare holds back only its own caller, and
// a failing batch fails every request in it.
func TestPrepareBeforeQueueing(t *testing.T) {
	p := &preparing{probe: &probe{Classifier: realBackend(t), failOn: "poison"}, gate: make(chan struct{})}
	b := New(p, Options{MaxBatchSize: 8})
	defer func() { _ = b.Close() }()
	held := classifyAsync(b, context.Background(), []string{"held"})
	for deadline := time.Now().Add(20 * time.Second); p.prepares.Load() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Prepare was never called")
		}
	}
	if n := b.queued(); n != 0 {
		t.Fatalf("%d queued while Prepare runs, want 0", n)
	}
	close(p.gate)
	if o := <-held; o.err != nil {
		t.Fatal(o.err)
	}
	if _, err := b.Classify(context.Background(), "poison"); err == nil || !strings.Contains(err.Error(), "batch of 1: injected backend failure") {
		t.Fatalf("poisoned batch: err %v", err)
	}
}
