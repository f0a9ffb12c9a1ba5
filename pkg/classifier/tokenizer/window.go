package tokenizer

import (
	"strings"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/window"
)

// headTailMinBytes is the text length from which HeadTail tries to tokenize
// only the two ends of a text.
const headTailMinBytes = 4096

// HeadTail returns the content ids window.Window(t.Tokenize(text),
// head, tail) returns, and whether any were dropped. For tokenizers that
// split words at whitespace (BERT's and the whitespace pre-tokenizer), a long
// text is tokenized only at its two ends, as far as the window needs: a cut
// just after an ASCII whitespace byte never changes the tokens on either
// side, so the ids are the same as from the whole text. Otherwise, or when
// the ends do not settle the question, the whole text is tokenized through a
// window.Windower (memory bounded by the window).
func (t *Tokenizer) HeadTail(text string, head, tail int) ([]int32, bool) {
	head, tail = max(head, 0), max(tail, 0)
	if t.splitsAtSpace && len(text) >= headTailMinBytes {
		if ids, truncated, ok := t.headTailEnds(text, head, tail); ok {
			return ids, truncated
		}
	}
	w := window.NewWindower[int32](head, tail)
	t.Each(text, w.Add)
	return w.AppendTo(make([]int32, 0, min(w.Len(), head+tail)))
}

// headTailEnds tokenizes a growing prefix and suffix of text, cut at ASCII
// whitespace, until they hold head and tail ids. ok is false when the two
// ends meet first, or when they hold exactly head and tail ids (whether
// something lies between them is then unknown).
func (t *Tokenizer) headTailEnds(text string, head, tail int) (ids []int32, truncated, ok bool) {
	collect := func(s string) []int32 {
		var out []int32
		t.Each(s, func(id int32) { out = append(out, id) })
		return out
	}
	for budget := 16 * max(head, tail, 64); ; budget *= 4 {
		cut := afterSpaceFrom(text, budget)
		start := afterSpaceBefore(text, len(text)-budget)
		if cut < 0 || start < 0 || cut > start {
			return nil, false, false
		}
		h, tl := collect(text[:cut]), collect(text[start:])
		if len(h) < head || len(tl) < tail {
			continue
		}
		if len(h) == head && len(tl) == tail {
			return nil, false, false
		}
		ids = make([]int32, 0, head+tail)
		ids = append(ids, h[:head]...)
		return append(ids, tl[len(tl)-tail:]...), true, true
	}
}

func isASCIISpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// afterSpaceFrom returns the index just after the first ASCII whitespace
// byte at or after i, or -1.
func afterSpaceFrom(s string, i int) int {
	if i < 0 {
		i = 0
	}
	for ; i < len(s); i++ {
		if isASCIISpace(s[i]) {
			return i + 1
		}
	}
	return -1
}

// afterSpaceBefore returns the index just after the last ASCII whitespace
// byte at or before i, or -1.
func afterSpaceBefore(s string, i int) int {
	if i >= len(s) {
		i = len(s) - 1
	}
	for ; i >= 0; i-- {
		if isASCIISpace(s[i]) {
			return i + 1
		}
	}
	return -1
}

// splitsAtSpace reports whether cutting a text just after an ASCII
// whitespace byte leaves the ids of both parts unchanged: the pre-tokenizer
// drops whitespace and splits there, and no added token contains whitespace.
func splitsAtSpace(preTokType string, added []addedToken) bool {
	if preTokType != "BertPreTokenizer" {
		return false
	}
	for _, a := range added {
		if strings.ContainsFunc(a.content, isWhitespace) {
			return false
		}
	}
	return true
}
