// Package batching gathers concurrent Classify calls into ClassifyBatch
// calls of a backend (dynamic micro-batching).
//
// Dispatch rule: a worker that is free takes everything queued, up to
// MaxBatchSize, and runs it at once. A lone request on an idle classifier
// (nothing queued, nothing running) is run by its caller itself, so it pays
// neither waiting time nor the hand-offs to a worker and back; requests that
// arrive while a batch is running queue up and leave together as soon as a
// worker frees, so batches grow with the load and only with the load. This
// suits a CPU backend, where one run at a time already uses every core
// (intra-op threads): holding a request back while a core is idle only adds
// latency.
//
// MaxBatchWait matters only with more than one worker (Options.Workers, e.g.
// a GPU that overlaps runs): a worker that frees while another batch is still
// running and finds fewer than MaxBatchSize requests lingers until the batch
// is full or its oldest request has waited MaxBatchWait, because requests are
// evidently arriving. With nothing in flight it never waits.
//
// A backend that is a classifier.Preparer has each text prepared
// (tokenized) in its caller's goroutine before it is queued, and its batches
// run with ClassifyPrepared: the host work of a batch is then done by the
// time a worker takes it.
//
// A request whose context ends while queued leaves the queue without
// touching the others; a batch whose requests have all gone is cancelled.
package batching

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// Options tunes a Batcher.
type Options struct {
	// MaxBatchSize bounds the texts per batch; values below 1 mean 1.
	MaxBatchSize int
	// MaxBatchWait bounds how long a worker lingers to fill a batch while
	// another batch is in flight (see the package comment).
	MaxBatchWait time.Duration
	// Workers is the number of batches that may run at once; 0 means 1.
	Workers int
}

// Batcher wraps a classifier with dynamic micro-batching. It is safe for
// concurrent use.
type Batcher struct {
	inner classifier.Classifier
	prep  classifier.Preparer // inner as a Preparer; nil when it is none
	opts  Options

	mu       sync.Mutex
	queue    []*request
	inFlight int
	closed   bool

	wake chan struct{} // one pending wake-up for the workers
	quit chan struct{} // closed by Close
	wg   sync.WaitGroup
}

type request struct {
	ctx      context.Context
	text     string
	prepared classifier.Prepared // set when the backend is a Preparer
	enqueued time.Time
	done     chan response // buffered: the worker never blocks on it
}

type response struct {
	res classifier.Result
	err error
}

var _ classifier.Classifier = (*Batcher)(nil)

// New starts a Batcher over inner. Close stops it and closes inner.
func New(inner classifier.Classifier, o Options) *Batcher {
	o.MaxBatchSize = max(o.MaxBatchSize, 1)
	o.Workers = max(o.Workers, 1)
	o.MaxBatchWait = max(o.MaxBatchWait, 0)
	b := &Batcher{inner: inner, opts: o, wake: make(chan struct{}, 1), quit: make(chan struct{})}
	b.prep, _ = inner.(classifier.Preparer)
	for range o.Workers {
		b.wg.Go(b.work)
	}
	return b
}

// Labels returns the backend's labels.
func (b *Batcher) Labels() []string { return b.inner.Labels() }

// Device is the wrapped classifier's device ("cpu", "cuda") when it reports
// one, else "".
func (b *Batcher) Device() string { return classifier.DeviceOf(b.inner) }

// EmbeddingDim is the wrapped classifier's embedding length (0: none).
func (b *Batcher) EmbeddingDim() int { return classifier.EmbeddingDimOf(b.inner) }

// Classify queues text and waits for its batch.
func (b *Batcher) Classify(ctx context.Context, text string) (classifier.Result, error) {
	if err := ctx.Err(); err != nil {
		return classifier.Result{}, fmt.Errorf("batching: %w", err)
	}
	r := &request{ctx: ctx, text: text, done: make(chan response, 1)}
	if b.prep != nil {
		r.prepared = b.prep.Prepare(text)
	}
	r.enqueued = time.Now()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return classifier.Result{}, classifier.ErrClosed
	}
	if len(b.queue) == 0 && b.inFlight == 0 {
		// A lone request: run it here, as a worker would at once. Close
		// waits for it as for the workers' batches.
		b.inFlight++
		b.wg.Add(1)
		b.mu.Unlock()
		b.run([]*request{r})
		b.done()
		b.wg.Done()
		resp := <-r.done
		return resp.res, resp.err
	}
	b.queue = append(b.queue, r)
	b.mu.Unlock()
	b.signal()
	select {
	case resp := <-r.done:
		return resp.res, resp.err
	case <-ctx.Done():
		// A queued request is dropped by the next worker that looks; one
		// already running is finished for the others and its result dropped.
		b.signal()
		return classifier.Result{}, fmt.Errorf("batching: %w", ctx.Err())
	}
}

// ClassifyBatch passes an already formed batch straight to the backend.
func (b *Batcher) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, classifier.ErrClosed
	}
	return b.inner.ClassifyBatch(ctx, texts)
}

// Close fails the queued requests with classifier.ErrClosed, lets the
// running batches finish and closes the backend.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	queued := b.queue
	b.queue = nil
	b.mu.Unlock()
	for _, r := range queued {
		r.done <- response{err: classifier.ErrClosed}
	}
	close(b.quit)
	b.wg.Wait()
	if err := b.inner.Close(); err != nil {
		return fmt.Errorf("closing batched classifier: %w", err)
	}
	return nil
}

func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *Batcher) work() {
	for {
		batch := b.next()
		if batch == nil {
			return
		}
		b.run(batch)
		b.done()
	}
}

// done ends a batch's slot and wakes a worker for what queued meanwhile.
func (b *Batcher) done() {
	b.mu.Lock()
	b.inFlight--
	b.mu.Unlock()
	b.signal()
}

// next blocks until a batch is ready by the dispatch rule, or returns nil
// once the Batcher is closed.
func (b *Batcher) next() []*request {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	b.mu.Lock()
	for {
		if b.closed {
			b.mu.Unlock()
			return nil
		}
		b.dropCancelled()
		var lingerUntil time.Time
		// A caller running its lone request holds a slot too: at most
		// Workers batches run at once.
		if n := len(b.queue); n > 0 && b.inFlight < b.opts.Workers {
			if n < b.opts.MaxBatchSize && b.inFlight > 0 && b.opts.MaxBatchWait > 0 {
				lingerUntil = b.queue[0].enqueued.Add(b.opts.MaxBatchWait)
			}
			if lingerUntil.IsZero() || !time.Now().Before(lingerUntil) {
				take := min(n, b.opts.MaxBatchSize)
				batch := append([]*request(nil), b.queue[:take]...)
				b.queue = append(b.queue[:0], b.queue[take:]...)
				b.inFlight++
				more := len(b.queue) > 0
				b.mu.Unlock()
				if more {
					b.signal() // another free worker may take the rest
				}
				return batch
			}
		}
		b.mu.Unlock()
		var expire <-chan time.Time
		if !lingerUntil.IsZero() {
			if timer == nil {
				timer = time.NewTimer(time.Until(lingerUntil))
			} else {
				timer.Reset(time.Until(lingerUntil))
			}
			expire = timer.C
		}
		select {
		case <-b.wake:
		case <-expire:
		case <-b.quit:
		}
		b.mu.Lock()
	}
}

// dropCancelled removes queued requests whose caller has given up; their
// Classify call has already returned. Called with b.mu held.
func (b *Batcher) dropCancelled() {
	kept := b.queue[:0]
	for _, r := range b.queue {
		if r.ctx.Err() == nil {
			kept = append(kept, r)
		}
	}
	clear(b.queue[len(kept):])
	b.queue = kept
}

// run classifies one batch and answers its requests. The batch's context is
// cancelled when every request in it has been cancelled.
func (b *Batcher) run(batch []*request) {
	start := time.Now()
	BatchSize.Observe(float64(len(batch)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var live atomic.Int64
	live.Store(int64(len(batch)))
	for _, r := range batch {
		BatchQueueWait.Observe(start.Sub(r.enqueued).Seconds())
		stop := context.AfterFunc(r.ctx, func() {
			if live.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	res, err := b.classify(ctx, batch)
	if err == nil && len(res) != len(batch) {
		err = fmt.Errorf("backend returned %d results for %d texts", len(res), len(batch))
	}
	for i, r := range batch {
		if err != nil {
			r.done <- response{err: fmt.Errorf("batch of %d: %w", len(batch), err)}
		} else {
			r.done <- response{res: res[i]}
		}
	}
}

// classify runs a batch on the backend: prepared when it is a Preparer.
func (b *Batcher) classify(ctx context.Context, batch []*request) ([]classifier.Result, error) {
	if b.prep != nil {
		prepared := make([]classifier.Prepared, len(batch))
		for i, r := range batch {
			prepared[i] = r.prepared
		}
		return b.prep.ClassifyPrepared(ctx, prepared)
	}
	texts := make([]string, len(batch))
	for i, r := range batch {
		texts[i] = r.text
	}
	return b.inner.ClassifyBatch(ctx, texts)
}
