// Package window keeps the head and the tail of a long sequence (words,
// token ids): the classifier backends window their input this way. It has
// no dependencies, so the tokenizer and the backends share it cheaply.
package window

// Window keeps the first head and the last tail elements of s when s holds
// more than head+tail elements, and reports whether it dropped any. A slice
// that fits is returned as is (not copied); a windowed one is a new slice.
// Negative head or tail count as zero.
//
// Backends window their input units (words, token ids) this way so that a long
// prompt keeps both its opening, where the question usually is, and its end,
// where the instruction often is.
func Window[T any](s []T, head, tail int) ([]T, bool) {
	head, tail = max(head, 0), max(tail, 0)
	if len(s) <= head+tail {
		return s, false
	}
	out := make([]T, 0, head+tail)
	out = append(out, s[:head]...)
	out = append(out, s[len(s)-tail:]...)
	return out, true
}

// Windower is the streaming form of Window: it takes the elements one at a
// time and holds at most head+tail of them, so a megabyte of text costs
// memory in proportion to the window, not to the input. The zero value keeps
// nothing; use NewWindower.
type Windower[T any] struct {
	head, tail int
	first      []T // up to head elements
	ring       []T // the last up-to-tail elements after the head, circular
	next       int // where the next element goes in ring once it is full
	n          int // elements added
}

// NewWindower returns a Windower keeping the first head and last tail
// elements. Negative values count as zero.
func NewWindower[T any](head, tail int) *Windower[T] {
	w := &Windower[T]{}
	w.Reset(head, tail)
	return w
}

// Reset empties the Windower and sets new limits, keeping its storage.
func (w *Windower[T]) Reset(head, tail int) {
	w.head, w.tail = max(head, 0), max(tail, 0)
	w.first, w.ring = w.first[:0], w.ring[:0]
	w.next, w.n = 0, 0
}

// Add appends one element.
func (w *Windower[T]) Add(v T) {
	w.n++
	switch {
	case len(w.first) < w.head:
		w.first = append(w.first, v)
	case w.tail == 0:
	case len(w.ring) < w.tail:
		w.ring = append(w.ring, v)
	default:
		w.ring[w.next] = v
		w.next = (w.next + 1) % w.tail
	}
}

// Len is the number of elements added so far.
func (w *Windower[T]) Len() int { return w.n }

// AppendTo appends the kept elements, in input order, to dst and reports
// whether any were dropped. The head part ends at index len(dst)+HeadLen()
// of the result; callers that must not join features across the gap use it.
func (w *Windower[T]) AppendTo(dst []T) ([]T, bool) {
	dst = append(dst, w.first...)
	dst = append(dst, w.ring[w.next:]...)
	dst = append(dst, w.ring[:w.next]...)
	return dst, w.n > len(w.first)+len(w.ring)
}

// HeadLen is the number of elements kept from the head.
func (w *Windower[T]) HeadLen() int { return len(w.first) }
