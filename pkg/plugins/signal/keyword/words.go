package keyword

import (
	"unicode"
	"unicode/utf8"
)

// wordIndex holds the whole-word keywords of one case mode, by first word.
// A request is read once, word by word, from the original text: a folding
// index lower-cases each word as it reads it (the same per-rune
// unicode.ToLower as strings.ToLower), so no lowered copy of the prompt is
// made, and a bit per (length, first byte, last byte) of the first words
// rejects most words of a prompt without a map lookup.
type wordIndex struct {
	fold    bool
	phrases map[string][]phrase
	first   [filterBits / 64]uint64
	maxLen  int // bytes of the longest first word
}

// filterBits is 4 bits of length (15 = 15 or more) and 6 bits of each of
// the first and last byte (filterCode): 8 KiB, which a few hundred keywords
// fill sparsely.
const filterBits = 1 << 16

func filterKey(n int, first, last byte) uint {
	return uint(min(n, 15)) | uint(filterCode[first])<<4 | uint(filterCode[last])<<10
}

// filterCode gives letters (either case), digits and '_' codes of their
// own, so that words of a prompt rarely share a key with a keyword; other
// bytes share the remaining codes.
var filterCode = func() (t [256]uint8) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z':
			t[c] = uint8(c - 'a')
		case 'A' <= c && c <= 'Z':
			t[c] = uint8(c - 'A')
		case '0' <= c && c <= '9':
			t[c] = uint8(26 + c - '0')
		case c == '_':
			t[c] = 36
		default:
			t[c] = uint8(37 + c%27)
		}
	}
	return t
}()

func newWordIndex(fold bool) *wordIndex {
	return &wordIndex{fold: fold, phrases: map[string][]phrase{}}
}

func (x *wordIndex) add(p phrase) {
	w := p.words[0]
	x.phrases[w] = append(x.phrases[w], p)
	k := filterKey(len(w), w[0], w[len(w)-1])
	x.first[k/64] |= 1 << (k % 64)
	x.maxLen = max(x.maxLen, len(w))
}

// mayStart reports whether a word of n bytes (lower-cased when x folds)
// from first to last byte can be a first word.
func (x *wordIndex) mayStart(n int, first, last byte) bool {
	if n > x.maxLen {
		return false
	}
	k := filterKey(n, first, last)
	return x.first[k/64]&(1<<(k%64)) != 0
}

func (x *wordIndex) lowerByte(c byte) byte {
	if x.fold && 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// scan marks the phrases of x that occur in text.
func (x *wordIndex) scan(text string, h *hits) {
	// Keywords' words are short; a longer word only grows the buffer.
	var buf [64]byte
	for i := 0; ; {
		start, end, ascii := x.nextWord(text, i)
		if start < 0 {
			return
		}
		i = end
		// An ASCII word is rejected before it is copied; others are
		// lower-cased first, as their length may change.
		if ascii && !x.mayStart(end-start, x.lowerByte(text[start]), x.lowerByte(text[end-1])) {
			continue
		}
		w := x.appendWord(buf[:0], text[start:end])
		if !ascii && !x.mayStart(len(w), w[0], w[len(w)-1]) {
			continue
		}
		for _, p := range x.phrases[string(w)] {
			if !h.found[p.id] && x.followedBy(text, end, p.words[1:], buf[:0]) {
				h.mark(p.id)
			}
		}
	}
}

// followedBy reports whether the words of text after pos begin with want.
func (x *wordIndex) followedBy(text string, pos int, want []string, buf []byte) bool {
	for _, ww := range want {
		start, end, _ := x.nextWord(text, pos)
		if start < 0 || string(x.appendWord(buf, text[start:end])) != ww {
			return false
		}
		pos = end
	}
	return true
}

// appendWord appends w to dst, lower-cased when x folds.
func (x *wordIndex) appendWord(dst []byte, w string) []byte {
	if !x.fold {
		return append(dst, w...)
	}
	return appendLower(dst, w)
}

// Byte classes for nextWord's loops: ASCII bytes are word or not by
// table; other bytes start or continue a rune that must be decoded.
const (
	byteSpace = iota
	byteWord
	byteRune
)

var byteClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = byteRune
		case asciiWord[c]:
			t[c] = byteWord
		}
	}
	return t
}()

// nextWord returns the bounds of the first word of text at or after i
// (a maximal run of word characters, of the lower-cased text when x folds)
// and whether it is all ASCII, or -1, -1.
func (x *wordIndex) nextWord(text string, i int) (start, end int, ascii bool) {
	for {
		for i < len(text) && byteClass[text[i]] == byteSpace {
			i++
		}
		if i == len(text) {
			return -1, -1, false
		}
		if byteClass[text[i]] == byteWord {
			break
		}
		r, size := x.decodeRune(text[i:])
		if isWordRune(r) {
			break
		}
		i += size
	}
	start, ascii = i, true
	for {
		for i < len(text) && byteClass[text[i]] == byteWord {
			i++
		}
		if i == len(text) || byteClass[text[i]] == byteSpace {
			return start, i, ascii
		}
		r, size := x.decodeRune(text[i:])
		if !isWordRune(r) {
			return start, i, ascii
		}
		ascii = false
		i += size
	}
}

// decodeRune decodes the first rune of s, lower-cased when x folds (word
// boundaries are those of the lower-cased text).
func (x *wordIndex) decodeRune(s string) (rune, int) {
	r, size := utf8.DecodeRuneInString(s)
	if x.fold {
		r = unicode.ToLower(r)
	}
	return r, size
}

// appendLower appends strings.ToLower(s) to dst: unicode.ToLower per rune,
// an invalid byte becoming U+FFFD as in strings.Map.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += size
	}
	return dst
}
