package keyword

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// matcher holds the rules compiled once at start-up. Whole-word keywords
// (the common case) go into a word index, so a request costs one pass over
// its words, whatever the number of rules; other keywords are substring
// searches; regexes run last.
type matcher struct {
	rules []compiledRule
	// fold indexes case-insensitive whole-word keywords by their first
	// (lower-cased) word, exact the case-sensitive ones.
	fold, exact *wordIndex
	nKeywords   int
	// kwRule is the rule of each keyword id.
	kwRule []int
	// needLower is set when some substring keyword is matched
	// case-insensitively, so the lower-cased text is needed.
	needLower bool
}

type compiledRule struct {
	name string
	all  bool
	// indexedAny is set for an any rule whose keywords are all in the word
	// indexes: it holds when one of them was found, which the scans record.
	indexedAny bool
	kwIDs      []int // global ids of the rule's keywords
	substr     []substrKeyword
	regexes    []*regexp.Regexp
}

// phrase is a whole-word keyword split into words.
type phrase struct {
	words []string
	id    int
}

// substrKeyword is a keyword searched as a substring: either word
// boundaries are off, or it contains characters that are not word
// characters or single spaces ("c++", "api-key"), which the word index
// cannot represent.
type substrKeyword struct {
	text     string
	fold     bool
	boundary bool
	id       int
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// asciiWord marks the ASCII word bytes, so the common ASCII prompt is split
// without decoding runes.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = isWordRune(rune(c))
	}
	return t
}()

// splitWords appends the words of s (maximal runs of word characters) to dst.
func splitWords(dst []string, s string) []string {
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		var word bool
		size := 1
		if c < utf8.RuneSelf {
			word = asciiWord[c]
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			word = isWordRune(r)
		}
		if word {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			dst = append(dst, s[start:i])
			start = -1
		}
		i += size
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

func newMatcher(rules []Rule, regexes [][]*regexp.Regexp) *matcher {
	m := &matcher{fold: newWordIndex(true), exact: newWordIndex(false)}
	for i, r := range rules {
		cr := compiledRule{name: r.Name, all: r.Operator == OpAll, regexes: regexes[i]}
		for _, kw := range r.Keywords {
			id := m.nKeywords
			m.nKeywords++
			m.kwRule = append(m.kwRule, i)
			cr.kwIDs = append(cr.kwIDs, id)
			text := strings.TrimSpace(kw)
			if !r.CaseSensitive {
				text = strings.ToLower(text)
			}
			words := splitWords(nil, text)
			if *r.WordBoundary && strings.Join(words, " ") == text {
				idx := m.exact
				if !r.CaseSensitive {
					idx = m.fold
				}
				idx.add(phrase{words: words, id: id})
				continue
			}
			m.needLower = m.needLower || !r.CaseSensitive
			cr.substr = append(cr.substr, substrKeyword{text: text, fold: !r.CaseSensitive, boundary: *r.WordBoundary, id: id})
		}
		cr.indexedAny = !cr.all && len(cr.substr) == 0 && len(cr.regexes) == 0
		m.rules = append(m.rules, cr)
	}
	return m
}

// hits records, for one request, the keywords found and the rules that
// have one.
type hits struct {
	found, rule []bool
	kwRule      []int
}

func (h *hits) mark(id int) {
	h.found[id] = true
	h.rule[h.kwRule[id]] = true
}

// flags returns n false flags, in buf when it is long enough.
func flags(buf []bool, n int) []bool {
	if n > len(buf) {
		return make([]bool, n)
	}
	return buf[:n]
}

// match returns the rules that hold for text, each with score 1, or nil.
func (m *matcher) match(text string) map[string]float32 {
	var foundBuf, ruleBuf [256]bool
	h := hits{found: flags(foundBuf[:], m.nKeywords), rule: flags(ruleBuf[:], len(m.rules)), kwRule: m.kwRule}
	if len(m.fold.phrases) > 0 {
		m.fold.scan(text, &h)
	}
	if len(m.exact.phrases) > 0 {
		m.exact.scan(text, &h)
	}
	var lower string
	var lowerBuf [1024]byte
	if m.needLower {
		// The lowered text lives only for this call; viewing the buffer as a
		// string spares the copy strings.ToLower would make.
		if b := appendLower(lowerBuf[:0], text); len(b) > 0 {
			lower = unsafe.String(&b[0], len(b))
		}
	}
	var out map[string]float32
	for i := range m.rules {
		r := &m.rules[i]
		for _, s := range r.substr {
			hay := text
			if s.fold {
				hay = lower
			}
			h.found[s.id] = containsKeyword(hay, s.text, s.boundary)
		}
		if r.indexedAny && h.rule[i] || !r.indexedAny && r.holds(h.found, text) {
			if out == nil {
				out = make(map[string]float32, 1)
			}
			out[r.name] = 1
		}
	}
	return out
}

func (r *compiledRule) holds(found []bool, text string) bool {
	if r.all {
		for _, id := range r.kwIDs {
			if !found[id] {
				return false
			}
		}
		for _, re := range r.regexes {
			if !re.MatchString(text) {
				return false
			}
		}
		return true
	}
	for _, id := range r.kwIDs {
		if found[id] {
			return true
		}
	}
	for _, re := range r.regexes {
		if re.MatchString(text) {
			return true
		}
	}
	return false
}

// containsKeyword reports whether kw occurs in s, as whole words when
// boundary is set (no word character right before or after it).
func containsKeyword(s, kw string, boundary bool) bool {
	if !boundary {
		return strings.Contains(s, kw)
	}
	for off := 0; off <= len(s)-len(kw); {
		i := strings.Index(s[off:], kw)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(kw)
		before, _ := utf8.DecodeLastRuneInString(s[:start])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (start == 0 || !isWordRune(before) || !isWordRune(firstRune(kw))) &&
			(end == len(s) || !isWordRune(after) || !isWordRune(lastRune(kw))) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[start:])
		off = start + size
	}
	return false
}

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }
func lastRune(s string) rune  { r, _ := utf8.DecodeLastRuneInString(s); return r }
