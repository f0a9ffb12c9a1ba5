package window

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		head, tail int
		want       []int
		truncated  bool
	}{
		{"empty", 0, 2, 2, []int{}, false},
		{"fits", 4, 2, 2, []int{0, 1, 2, 3}, false},
		{"one over", 5, 2, 2, []int{0, 1, 3, 4}, true},
		{"long", 10, 3, 2, []int{0, 1, 2, 8, 9}, true},
		{"head only", 10, 3, 0, []int{0, 1, 2}, true},
		{"tail only", 10, 0, 3, []int{7, 8, 9}, true},
		{"negative limits count as zero", 3, -1, -5, []int{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tr := Window(seq(tt.n), tt.head, tt.tail)
			if !slices.Equal(got, tt.want) || tr != tt.truncated {
				t.Errorf("Window(%d, %d, %d) = %v, %v; want %v, %v", tt.n, tt.head, tt.tail, got, tr, tt.want, tt.truncated)
			}
			w := NewWindower[int](tt.head, tt.tail)
			for _, v := range seq(tt.n) {
				w.Add(v)
			}
			got, tr = w.AppendTo(nil)
			if (!slices.Equal(got, tt.want) && (len(got) != 0 || len(tt.want) != 0)) || tr != tt.truncated {
				t.Errorf("Windower = %v, %v; want %v, %v", got, tr, tt.want, tt.truncated)
			}
			if w.Len() != tt.n {
				t.Errorf("Len = %d, want %d", w.Len(), tt.n)
			}
		})
	}
}

func TestWindowDoesNotCopyWhenItFits(t *testing.T) {
	s := seq(3)
	got, _ := Window(s, 2, 2)
	if &got[0] != &s[0] {
		t.Error("Window copied a slice that fits")
	}
}

// TestWindowerMatchesWindow checks the streaming form against the slice form
// on random sizes, reusing one Windower as models do.
func TestWindowerMatchesWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := NewWindower[int](0, 0)
	for range 500 {
		n, head, tail := r.IntN(40), r.IntN(10), r.IntN(10)
		want, wantTr := Window(seq(n), head, tail)
		w.Reset(head, tail)
		for _, v := range seq(n) {
			w.Add(v)
		}
		got, tr := w.AppendTo([]int{-1})
		if !slices.Equal(got[1:], want) || tr != wantTr || got[0] != -1 {
			t.Fatalf("n=%d head=%d tail=%d: Windower %v %v, Window %v %v", n, head, tail, got[1:], tr, want, wantTr)
		}
		if w.HeadLen() != min(n, head) {
			t.Fatalf("HeadLen = %d, want %d", w.HeadLen(), min(n, head))
		}
	}
}
