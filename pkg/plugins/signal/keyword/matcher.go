package keyword

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// matcher holds the rules compiled once at start-up. Whole-word keywords
// (the common case) go into a word index, so a request costs one pass over
// its words plus one map lookup per word, whatever the number of rules;
// other keywords are substring searches; regexes run last.
type matcher struct {
	rules []compiledRule
	// fold indexes case-insensitive whole-word keywords by their first
	// (lower-cased) word, exact the case-sensitive ones.
	fold, exact map[string][]phrase
	nKeywords   int
	// needLower is set when some keyword is matched case-insensitively.
	needLower bool
}

type compiledRule struct {
	name    string
	all     bool
	kwIDs   []int // global ids of the rule's keywords
	substr  []substrKeyword
	regexes []*regexp.Regexp
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
	m := &matcher{fold: map[string][]phrase{}, exact: map[string][]phrase{}}
	for i, r := range rules {
		cr := compiledRule{name: r.Name, all: r.Operator == OpAll, regexes: regexes[i]}
		for _, kw := range r.Keywords {
			id := m.nKeywords
			m.nKeywords++
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
				idx[words[0]] = append(idx[words[0]], phrase{words: words, id: id})
				continue
			}
			m.needLower = m.needLower || !r.CaseSensitive
			cr.substr = append(cr.substr, substrKeyword{text: text, fold: !r.CaseSensitive, boundary: *r.WordBoundary, id: id})
		}
		m.rules = append(m.rules, cr)
	}
	return m
}

// match returns the names of the rules that hold for text, in rule order.
func (m *matcher) match(text string) []string {
	var foundBuf [256]bool
	var found []bool
	if m.nKeywords > len(foundBuf) {
		found = make([]bool, m.nKeywords)
	} else {
		found = foundBuf[:m.nKeywords]
	}
	var lower string
	if m.needLower || len(m.fold) > 0 {
		lower = strings.ToLower(text)
	}
	var wordBuf [512]string
	if len(m.fold) > 0 {
		scan(m.fold, splitWords(wordBuf[:0], lower), found)
	}
	if len(m.exact) > 0 {
		scan(m.exact, splitWords(wordBuf[:0], text), found)
	}
	var out []string
	for i := range m.rules {
		r := &m.rules[i]
		for _, s := range r.substr {
			hay := text
			if s.fold {
				hay = lower
			}
			found[s.id] = containsKeyword(hay, s.text, s.boundary)
		}
		if r.holds(found, text) {
			out = append(out, r.name)
		}
	}
	return out
}

// scan marks the phrases of idx that occur in words.
func scan(idx map[string][]phrase, words []string, found []bool) {
	for i, w := range words {
		for _, p := range idx[w] {
			if found[p.id] || len(p.words) > len(words)-i {
				continue
			}
			ok := true
			for k := 1; k < len(p.words); k++ {
				if words[i+k] != p.words[k] {
					ok = false
					break
				}
			}
			found[p.id] = ok
		}
	}
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
