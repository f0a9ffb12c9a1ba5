package window

import (
	"slices"
	"testing"
)

// FuzzWindow checks Window and the streaming Windower against the definition
// (the first head and last tail elements of a longer input, the input itself
// otherwise) for arbitrary inputs and limits, negative ones included, and
// that a Windower holds no more than the window and is reusable after Reset.
func FuzzWindow(f *testing.F) {
	f.Add([]byte("abcdefghij"), 3, 2)
	f.Add([]byte("abcd"), 2, 2)
	f.Add([]byte("abcde"), 2, 2)
	f.Add([]byte(""), 0, 0)
	f.Add([]byte("abc"), -1, -5)
	f.Add([]byte("abcdefghij"), 0, 3)
	f.Add([]byte("abcdefghij"), 4, 0)
	f.Fuzz(func(t *testing.T, s []byte, head, tail int) {
		head, tail = head%1024, tail%1024 // keep the sign: negatives count as zero
		h, tl := max(head, 0), max(tail, 0)
		want, wantTrunc := s, false
		if len(s) > h+tl {
			want, wantTrunc = append(slices.Clone(s[:h]), s[len(s)-tl:]...), true
		}
		got, trunc := Window(s, head, tail)
		if !slices.Equal(got, want) || trunc != wantTrunc || len(got) > max(len(s), 0) {
			t.Fatalf("Window(%d, %d, %d) = %d elements, %v; want %d, %v", len(s), head, tail, len(got), trunc, len(want), wantTrunc)
		}
		if len(s) > h+tl && len(got) != h+tl {
			t.Fatalf("windowed to %d, want %d", len(got), h+tl)
		}
		w := NewWindower[byte](tail, head) // other limits first: Reset must forget them
		for _, b := range s[:len(s)/2] {
			w.Add(b)
		}
		w.Reset(head, tail)
		for i, b := range s {
			w.Add(b)
			if len(w.first) > h || len(w.ring) > tl {
				t.Fatalf("after %d elements the Windower holds %d+%d, window %d+%d", i+1, len(w.first), len(w.ring), h, tl)
			}
		}
		prefix := []byte("pre")
		streamed, strunc := w.AppendTo(slices.Clone(prefix))
		if !slices.Equal(streamed[:len(prefix)], prefix) || !slices.Equal(streamed[len(prefix):], want) || strunc != wantTrunc {
			t.Fatalf("Windower(%d, %d, %d) = %q, %v; want %q, %v", len(s), head, tail, streamed, strunc, want, wantTrunc)
		}
		if w.Len() != len(s) || w.HeadLen() != min(h, len(s)) {
			t.Fatalf("Len %d HeadLen %d for %d elements, head %d", w.Len(), w.HeadLen(), len(s), h)
		}
	})
}
