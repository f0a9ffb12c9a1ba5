package lockedthread

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestPool: every thread runs its init on the thread it then serves calls
// on, calls run on those threads, a caller whose context ends before a
// thread takes its call returns the context's error and the call never
// runs, and a failed init is returned. With and without spinning.
func TestPool(t *testing.T) {
	for _, spin := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run(fmt.Sprint("spin=", spin), func(t *testing.T) {
			var mu sync.Mutex
			inited := map[int]bool{}
			p, err := Start(3, spin, func() error {
				mu.Lock()
				defer mu.Unlock()
				inited[syscall.Gettid()] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(inited) != 3 {
				t.Fatalf("%d threads ran init, want 3", len(inited))
			}
			var wg sync.WaitGroup
			for range 30 {
				wg.Go(func() {
					var tid int
					if err := p.Do(context.Background(), func() { tid = syscall.Gettid() }); err != nil {
						t.Error(err)
					}
					mu.Lock()
					defer mu.Unlock()
					if !inited[tid] {
						t.Errorf("call ran on thread %d, not on a pool thread", tid)
					}
				})
			}
			wg.Wait()

			// Every thread busy: calls wait in the queue (it holds one per
			// thread) or to enter it; their callers' contexts end.
			release, busy := make(chan struct{}), make(chan struct{}, 3)
			for range 3 {
				go func() { _ = p.Do(context.Background(), func() { busy <- struct{}{}; <-release }) }()
			}
			for range 3 {
				<-busy
			}
			var ran sync.Map
			for i := range 5 {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i)*time.Millisecond)
					defer cancel()
					if err := p.Do(ctx, func() { ran.Store(i, true) }); !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("call %d with an ended context while every thread is busy: %v, want %v", i, err, context.DeadlineExceeded)
					}
				})
			}
			wg.Wait()
			close(release)
			// A call after them runs, once the cancelled ones are skipped.
			if err := p.Do(context.Background(), func() {}); err != nil {
				t.Error(err)
			}
			p.Stop()
			ran.Range(func(k, _ any) bool {
				t.Errorf("cancelled call %v ran", k)
				return true
			})
		})
	}

	boom := errors.New("boom")
	var mu sync.Mutex
	calls := 0
	if _, err := Start(2, 0, func() error {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 2 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Fatalf("Start with a failing init: %v, want %v", err, boom)
	}
	if _, err := Start(0, 0, nil); err == nil {
		t.Error("Start(0, …) gave no error")
	}
}

// TestSpinningBound: however many threads have just finished a call, at
// most a quarter of GOMAXPROCS spin, and none once the spin has passed.
func TestSpinningBound(t *testing.T) {
	for _, procs := range []int{2, 8, 16} {
		t.Run(fmt.Sprint("GOMAXPROCS=", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			// Long enough that a thread is seen spinning on a loaded machine.
			const spin = 500 * time.Millisecond
			p, err := Start(8, spin, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 8 {
				wg.Go(func() {
					<-start
					_ = p.Do(context.Background(), func() { time.Sleep(time.Millisecond) })
				})
			}
			close(start)
			wg.Wait()
			// Sample for a while, and until a thread is seen spinning (when
			// any may): a thread may get the processor late.
			most, limit := int32(0), int32(procs/4)
			for samples, end := 0, time.Now().Add(10*time.Second); time.Now().Before(end); samples++ {
				most = max(most, processSpinning.Load())
				if samples >= 100 && (most > 0 || limit == 0) {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
			if most > limit {
				t.Errorf("%d threads spun at once, limit %d", most, limit)
			}
			if limit > 0 && most == 0 {
				t.Error("no thread spun after its call")
			}
			deadline := time.Now().Add(10 * time.Second)
			for processSpinning.Load() != 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := processSpinning.Load(); n != 0 {
				t.Errorf("%d threads still spinning long after their spin", n)
			}
		})
	}
}

// BenchmarkPacedDo is one caller whose calls come a pace apart (the
// classifications of one client's back-to-back requests), with and without
// spinning, side by side: the hand-off's cost with the threads parked
// between calls and with them spinning.
func BenchmarkPacedDo(b *testing.B) {
	for _, pace := range []time.Duration{0, 200 * time.Microsecond, time.Millisecond} {
		for _, spin := range []time.Duration{0, 2 * time.Millisecond} {
			b.Run(fmt.Sprintf("pace=%s/spin=%s", pace, spin), func(b *testing.B) {
				p, err := Start(1, spin, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Stop()
				var took time.Duration
				for b.Loop() {
					if pace > 0 {
						time.Sleep(pace)
					}
					start := time.Now()
					_ = p.Do(context.Background(), func() {})
					took += time.Since(start)
				}
				// ns/op counts the pauses too.
				b.ReportMetric(float64(took.Nanoseconds())/float64(b.N), "ns/call")
			})
		}
	}
}
