//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestSessions: with several sessions, concurrent batches (more than there
// are sessions) give the results one session gives, and Close destroys them
// all.
func TestSessions(t *testing.T) {
	requireRuntime(t)
	one := loadTiny(t)
	defer func() { _ = one.Close() }()
	three, err := Load(context.Background(), Options{IntraOpThreads: 1, Sessions: 3}, os.DirFS("testdata/tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(three.sessions); got != 3 {
		t.Fatalf("%d sessions, want 3", got)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Go(func() {
			texts := []string{fmt.Sprintf("text %d", i), strings.Repeat("law ", i*7)}
			want, err := one.ClassifyBatch(context.Background(), texts)
			if err != nil {
				errs <- err
				return
			}
			got, err := three.ClassifyBatch(context.Background(), texts)
			if err != nil {
				errs <- err
				return
			}
			for k := range texts {
				if got[k].Label != want[k].Label || !closeTo(got[k].Scores, want[k].Scores, 1e-6) {
					errs <- fmt.Errorf("batch %d text %d: %+v with 3 sessions, %+v with 1", i, k, got[k], want[k])
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := three.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(three.sessions); n != 0 {
		t.Errorf("%d sessions left after Close", n)
	}
	if _, err := three.Classify(context.Background(), "law"); err == nil {
		t.Error("classified after Close")
	}
}
