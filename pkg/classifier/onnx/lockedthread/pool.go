// Package lockedthread runs calls on goroutines locked to their OS threads,
// for C libraries that keep state per thread: ONNX Runtime's CUDA provider
// keeps its captured CUDA graphs and cuDNN's attention plans per thread.
//
// A call hands its function to a thread and waits for it. When the thread
// waits for work parked, each call costs two OS wake-ups: Go wakes the
// locked thread to run the function, then wakes another thread for the
// caller once the locked one parks again. Against a GPU run of a fraction
// of a millisecond those wake-ups are a large share, and a thread that sat
// idle pays them in full. So both sides may spin for a bounded time before
// they park, as ONNX Runtime's own thread pools do: a thread polls its queue
// for Spin after each call, and a caller yields to other goroutines while it
// polls for its result. Spinning threads hold the Go scheduler's
// processors, so at most a quarter of them spin at once, across every pool
// of the process (none with fewer than four).
package lockedthread

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a set of goroutines, each locked to its own OS thread, taking
// calls from one queue.
type Pool struct {
	queue chan *call
	spin  time.Duration
	// spinning counts this pool's threads that are spinning.
	spinning atomic.Int32
	wg       sync.WaitGroup
}

// States of a call.
const (
	queued int32 = iota
	running
	cancelled
)

type call struct {
	f     func()
	state atomic.Int32
	done  chan struct{}
}

// processSpinning counts the threads spinning in every pool of the
// process.
var processSpinning atomic.Int32

// maxSpinning is how many threads may spin at once: a quarter of the Go
// scheduler's processors.
func maxSpinning() int32 { return int32(runtime.GOMAXPROCS(0) / 4) }

// spinCheck is how many polls pass between two reads of the clock.
const spinCheck = 64

// Start starts n threads that spin for spin (0: never) before they park.
// Each runs init (when not nil) on its thread before taking calls; when an
// init fails the threads stop and the errors are returned.
func Start(n int, spin time.Duration, init func() error) (*Pool, error) {
	if n < 1 {
		return nil, errors.New("lockedthread: a pool needs at least one thread")
	}
	p := &Pool{queue: make(chan *call, n), spin: max(spin, 0)}
	errs := make(chan error, n)
	for range n {
		p.wg.Go(func() {
			// Never unlocked: the thread ends with its goroutine, and the
			// library's state for it goes with it.
			runtime.LockOSThread()
			var err error
			if init != nil {
				err = init()
			}
			errs <- err
			if err == nil {
				p.serve()
			}
		})
	}
	var all []error
	for range n {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// serve runs calls until the queue is closed.
func (p *Pool) serve() {
	for {
		c, ok := p.next()
		if !ok {
			return
		}
		if !c.state.CompareAndSwap(queued, running) {
			continue // its caller gave up
		}
		c.f()
		close(c.done)
	}
}

// next takes the next call, spinning for p.spin when a spinning slot is
// free, then parking.
func (p *Pool) next() (*call, bool) {
	select {
	case c, ok := <-p.queue:
		return c, ok
	default:
	}
	if p.spin > 0 && startSpinning() {
		p.spinning.Add(1)
		c, ok, got := p.poll()
		p.spinning.Add(-1)
		processSpinning.Add(-1)
		if got {
			return c, ok
		}
	}
	c, ok := <-p.queue
	return c, ok
}

// startSpinning takes a spinning slot when one is free.
func startSpinning() bool {
	limit := maxSpinning()
	for {
		n := processSpinning.Load()
		if n >= limit {
			return false
		}
		if processSpinning.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// poll polls the queue for up to p.spin; got reports whether it received.
func (p *Pool) poll() (c *call, ok, got bool) {
	got = spinFor(p.spin, func() bool {
		select {
		case c, ok = <-p.queue:
			return true
		default:
			return false
		}
	}, nil)
	return c, ok, got
}

// spinFor calls try until it reports true or d has passed, calling between
// (when not nil) between tries; it reports whether try did.
func spinFor(d time.Duration, try func() bool, between func()) bool {
	deadline := time.Now().Add(d)
	for i := 1; ; i++ {
		if try() {
			return true
		}
		if i%spinCheck == 0 && time.Now().After(deadline) {
			return false
		}
		if between != nil {
			between()
		}
	}
}

// Do runs f on the first free thread and returns when it has run, or with
// ctx's error when ctx ends before a thread takes f (f then never runs).
// Once a thread has taken f, Do waits for it to finish, whatever ctx does.
func (p *Pool) Do(ctx context.Context, f func()) error {
	c := &call{f: f, done: make(chan struct{})}
	// The caller spins only when a thread does: a parked thread that the
	// call wakes waits for this goroutine's processor, which it would not
	// get while the caller spins.
	spin := p.spinning.Load() > 0
	select {
	case p.queue <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	if spin && p.poll1(c) {
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		if c.state.CompareAndSwap(queued, cancelled) {
			return ctx.Err()
		}
		<-c.done
		return nil
	}
}

// poll1 yields to other goroutines while it polls for c's end, for up to
// p.spin; it reports whether c ended.
func (p *Pool) poll1(c *call) bool {
	return spinFor(p.spin, func() bool {
		select {
		case <-c.done:
			return true
		default:
			return false
		}
	}, runtime.Gosched)
}

// Stop ends the threads once the calls queued are done; no Do may follow.
func (p *Pool) Stop() {
	close(p.queue)
	p.wg.Wait()
}
