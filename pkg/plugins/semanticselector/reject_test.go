package semanticselector

import (
	"errors"
	"testing"
	"time"
)

func TestRejectSet(t *testing.T) {
	errA := errors.New("a")
	tests := []struct {
		name    string
		ttl     time.Duration
		wait    time.Duration
		wantOld bool // the first entry survives a later add
	}{
		{"kept within ttl", time.Hour, 0, true},
		{"pruned after ttl", time.Millisecond, 5 * time.Millisecond, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRejectSet(tc.ttl)
			r.add("old", errA)
			time.Sleep(tc.wait)
			r.add("new", errA)
			if got := r.take("old") != nil; got != tc.wantOld {
				t.Errorf("old entry present = %v, want %v", got, tc.wantOld)
			}
			if err := r.take("new"); !errors.Is(err, errA) {
				t.Errorf("take(new) = %v, want %v", err, errA)
			}
			if err := r.take("new"); err != nil {
				t.Errorf("second take(new) = %v, want nil", err)
			}
			if err := r.take("never"); err != nil {
				t.Errorf("take(never) = %v, want nil", err)
			}
		})
	}
}
