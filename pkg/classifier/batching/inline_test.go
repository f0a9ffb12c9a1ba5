package batching

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// goroutineID is the id runtime.Stack prints for the calling goroutine
// (tests only: to tell which goroutine ran a batch).
func goroutineID() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(buf[:bytes.IndexByte(buf, ' ')]), 10, 64)
	return id
}

// whoRuns records the goroutine of each batch it runs.
type whoRuns struct {
	*probe
	ran chan uint64
}

func (w *whoRuns) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	w.ran <- goroutineID()
	return w.probe.ClassifyBatch(ctx, texts)
}

// classifyOnOwnGoroutine classifies text on a new goroutine, whose id it
// sends on caller first; the call's error comes on done.
func classifyOnOwnGoroutine(b *Batcher, text string) (done chan error, caller chan uint64) {
	done, caller = make(chan error, 1), make(chan uint64, 1)
	go func() {
		caller <- goroutineID()
		_, err := b.Classify(context.Background(), text)
		done <- err
	}()
	return done, caller
}

// TestLoneRequestRunsInItsCaller: on an idle batcher the caller runs its
// own request; one that arrives while a batch runs is a worker's.
func TestLoneRequestRunsInItsCaller(t *testing.T) {
	p := &probe{Classifier: realBackend(t), gate: make(chan struct{}), started: make(chan int, 100)}
	w := &whoRuns{probe: p, ran: make(chan uint64, 10)}
	b := New(w, Options{MaxBatchSize: 8, Workers: 2})
	defer func() { _ = b.Close() }()
	first, caller := classifyOnOwnGoroutine(b, "lone")
	<-p.started
	if got, want := <-w.ran, <-caller; got != want {
		t.Errorf("lone request ran on goroutine %d, not its caller's %d", got, want)
	}
	second, caller := classifyOnOwnGoroutine(b, "while busy")
	<-p.started
	if got, c := <-w.ran, <-caller; got == c {
		t.Error("a request that came while a batch ran was run by its caller, not a worker")
	}
	close(p.gate)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
}

// TestCallerRunHoldsAWorkerSlot: with one worker, a request queued while a
// caller runs its lone request waits for it: at most Workers batches run.
func TestCallerRunHoldsAWorkerSlot(t *testing.T) {
	p := &probe{Classifier: realBackend(t), gate: make(chan struct{}), started: make(chan int, 100)}
	b := New(p, Options{MaxBatchSize: 8, Workers: 1})
	open := sync.OnceFunc(func() { close(p.gate) })
	defer func() { open(); _ = b.Close() }() // a failure below must not leave Close waiting
	lone := classifyAsync(b, context.Background(), []string{"lone"})
	<-p.started
	queued := classifyAsync(b, context.Background(), []string{"queued"})
	waitQueued(t, b, 1)
	time.Sleep(50 * time.Millisecond) // a worker ignoring the limit takes it by then
	select {
	case n := <-p.started:
		t.Fatalf("a batch of %d started beside the caller's run with one worker", n)
	default:
	}
	open()
	for _, ch := range []chan outcome{lone, queued} {
		if o := <-ch; o.err != nil {
			t.Fatal(o.err)
		}
	}
}
