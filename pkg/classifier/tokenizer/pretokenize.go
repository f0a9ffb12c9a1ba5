package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// newPreTokenizer builds the splitter described by tokenizer.json's
// "pre_tokenizer" section; none means the whole text is one piece.
func newPreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	if isNull(raw) {
		return func(s string, _ bool, fn func(string)) {
			if s != "" {
				fn(s)
			}
		}, nil
	}
	var p struct {
		Type           string   `json:"type"`
		AddPrefixSpace *bool    `json:"add_prefix_space"`
		UseRegex       *bool    `json:"use_regex"`
		Replacement    string   `json:"replacement"`
		PrependScheme  string   `json:"prepend_scheme"`
		Split          *bool    `json:"split"`
		Pattern        *pattern `json:"pattern"`
		Behavior       string   `json:"behavior"`
		Invert         bool     `json:"invert"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	switch p.Type {
	case "BertPreTokenizer":
		return func(s string, _ bool, fn func(string)) { bertSplit(s, fn) }, nil
	case "ByteLevel":
		useRegex := p.UseRegex == nil || *p.UseRegex
		return byteLevel(p.AddPrefixSpace != nil && *p.AddPrefixSpace, useRegex), nil
	case "Metaspace":
		return newMetaspace(p.Replacement, p.PrependScheme, p.AddPrefixSpace, p.Split == nil || *p.Split)
	case "Split":
		lit, err := p.Pattern.literal()
		if err != nil {
			return nil, fmt.Errorf("type Split: %w", err)
		}
		if p.Invert {
			return nil, fmt.Errorf("type Split: invert is not supported")
		}
		b, ok := splitBehaviors[p.Behavior]
		if !ok {
			return nil, fmt.Errorf("type Split: behavior %q is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous", p.Behavior)
		}
		return func(s string, _ bool, fn func(string)) { splitOn(s, lit, b, fn) }, nil
	default:
		return nil, fmt.Errorf("type %q is not supported", p.Type)
	}
}

// newMetaspace is SentencePiece's pre-tokenizer: spaces become the
// replacement character (▁), which is put in front of the text (always, on
// the text's first segment only, or never), and, with split, each ▁ starts
// a new piece. Files older than prepend_scheme say add_prefix_space.
func newMetaspace(replacement, scheme string, addPrefixSpace *bool, split bool) (preTokenizer, error) {
	if utf8.RuneCountInString(replacement) != 1 {
		return nil, fmt.Errorf("type Metaspace: replacement %q is not one character", replacement)
	}
	if scheme == "" {
		scheme = "always"
		if addPrefixSpace != nil && !*addPrefixSpace {
			scheme = "never"
		}
	}
	if scheme != "always" && scheme != "first" && scheme != "never" {
		return nil, fmt.Errorf("type Metaspace: prepend_scheme %q is not always, first or never", scheme)
	}
	return func(s string, first bool, fn func(string)) {
		s = strings.ReplaceAll(s, " ", replacement)
		if (scheme == "always" || (scheme == "first" && first)) && !strings.HasPrefix(s, replacement) {
			s = replacement + s
		}
		if !split {
			if s != "" {
				fn(s)
			}
			return
		}
		splitOn(s, replacement, mergedWithNext, fn)
	}, nil
}

// splitBehavior is what Split does with the matches of its pattern.
type splitBehavior int

const (
	removed splitBehavior = iota
	isolated
	mergedWithPrevious
	mergedWithNext
	contiguous
)

var splitBehaviors = map[string]splitBehavior{
	"Removed": removed, "Isolated": isolated, "MergedWithPrevious": mergedWithPrevious,
	"MergedWithNext": mergedWithNext, "Contiguous": contiguous,
}

// splitOn splits s at the non-overlapping occurrences of lit as the
// library does: the text is cut into match and non-match spans, the
// behavior joins or drops them, and empty pieces are dropped. Spans are
// joined as they come, so a long text costs no memory beyond its pieces.
func splitOn(s, lit string, b splitBehavior, fn func(string)) {
	pStart, pEnd, pMatch, has := 0, 0, false, false
	flush := func() {
		if has && pEnd > pStart {
			fn(s[pStart:pEnd])
		}
		has = false
	}
	span := func(start, end int, match bool) {
		switch {
		case b == removed && match:
			return
		case b == removed, b == isolated:
			flush()
			pStart, pEnd, has = start, end, true
			flush()
			return
		}
		var join bool
		switch b {
		case mergedWithPrevious: // a match joins the non-match before it
			join = has && match && !pMatch
		case contiguous: // runs of the same kind join
			join = has && match == pMatch
		case mergedWithNext: // a match joins the non-match after it
			join = has && pMatch && !match
		}
		if join {
			pEnd = end
			if b == mergedWithNext {
				flush() // the non-match takes no more
				return
			}
		} else {
			flush()
			pStart, pEnd, has = start, end, true
		}
		pMatch = match
	}
	for prev := 0; prev < len(s); {
		j := strings.Index(s[prev:], lit)
		if j < 0 {
			span(prev, len(s), false)
			break
		}
		if j > 0 {
			span(prev, prev+j, false)
		}
		span(prev+j, prev+j+len(lit), true)
		prev += j + len(lit)
	}
	flush()
}

// bertSplit splits on whitespace (dropped) and isolates each punctuation
// character.
func bertSplit(s string, fn func(string)) {
	start := -1
	for i, r := range s {
		switch {
		case isWhitespace(r):
			if start >= 0 {
				fn(s[start:i])
				start = -1
			}
		case isPunctuation(r):
			if start >= 0 {
				fn(s[start:i])
				start = -1
			}
			fn(s[i : i+utf8.RuneLen(r)])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		fn(s[start:])
	}
}

// byteLevel is GPT-2's pre-tokenizer: optional prefix space, the GPT-2 split
// pattern, then every byte mapped to a printable character.
func byteLevel(addPrefixSpace, useRegex bool) preTokenizer {
	return func(s string, _ bool, fn func(string)) {
		if addPrefixSpace && !strings.HasPrefix(s, " ") {
			s = " " + s
		}
		var b strings.Builder
		mapped := func(piece string) {
			b.Reset()
			for i := 0; i < len(piece); i++ {
				b.WriteRune(byteToRune[piece[i]])
			}
			fn(b.String())
		}
		if !useRegex {
			if s != "" {
				mapped(s)
			}
			return
		}
		gpt2Split(s, mapped)
	}
}

// byteToRune is GPT-2's reversible byte → printable rune table.
var byteToRune = func() [256]rune {
	var t [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}()

// gpt2Split is a hand-written matcher for GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// (Go's regexp has no look-ahead). It calls fn with each match in order; the
// matches cover the whole input.
func gpt2Split(s string, fn func(string)) {
	for i := 0; i < len(s); {
		n := gpt2Match(s[i:])
		fn(s[i : i+n])
		i += n
	}
}

func isSpace(r rune) bool { return unicode.Is(unicode.White_Space, r) }

// gpt2Match returns the length of the pattern's match at the start of s
// (always > 0 for non-empty s).
func gpt2Match(s string) int {
	if s[0] == '\'' && len(s) > 1 {
		switch s[1] {
		case 's', 't', 'm', 'd':
			return 2
		}
		if len(s) > 2 {
			switch s[1:3] {
			case "re", "ve", "ll":
				return 3
			}
		}
	}
	body := s
	off := 0
	if s[0] == ' ' && len(s) > 1 {
		body, off = s[1:], 1
	}
	r, _ := utf8.DecodeRuneInString(body)
	class := func(r rune) int {
		switch {
		case unicode.IsLetter(r):
			return 1
		case unicode.IsNumber(r):
			return 2
		case isSpace(r):
			return 0
		default:
			return 3
		}
	}
	if c := class(r); c != 0 && (off == 1 || s[0] != ' ') {
		n := 0
		for _, q := range body {
			if class(q) != c {
				break
			}
			n += utf8.RuneLen(q)
		}
		return off + n
	}
	// Whitespace run: \s+(?!\S) leaves the last space to the next token when
	// a non-space follows; a single space before one falls to \s+.
	n, last := 0, 0
	for _, q := range s {
		if !isSpace(q) {
			break
		}
		last = utf8.RuneLen(q)
		n += last
	}
	if n == 0 { // cannot happen: s[0] is a space or matched above
		_, size := utf8.DecodeRuneInString(s)
		return size
	}
	if n < len(s) && n > last {
		return n - last
	}
	return n
}
