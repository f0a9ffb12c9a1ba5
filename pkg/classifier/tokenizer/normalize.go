package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// newNormalizer builds the normalizer described by tokenizer.json's
// "normalizer" section; nil means none.
func newNormalizer(raw json.RawMessage) (func(string) string, error) {
	if isNull(raw) {
		return nil, nil //nolint:nilnil // no normalizer section: no normalizer, not an error
	}
	var n struct {
		Type               string            `json:"type"`
		CleanText          bool              `json:"clean_text"`
		HandleChineseChars bool              `json:"handle_chinese_chars"`
		StripAccents       *bool             `json:"strip_accents"`
		Lowercase          bool              `json:"lowercase"`
		Normalizers        []json.RawMessage `json:"normalizers"`
		Pattern            *pattern          `json:"pattern"`
		Content            string            `json:"content"`
		Prepend            string            `json:"prepend"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	switch n.Type {
	case "BertNormalizer":
		strip := n.Lowercase // the library's default: strip accents when lowercasing
		if n.StripAccents != nil {
			strip = *n.StripAccents
		}
		b := bertNormalizer{clean: n.CleanText, chinese: n.HandleChineseChars, strip: strip, lower: n.Lowercase}
		return b.normalize, nil
	case "NFC":
		return norm.NFC.String, nil
	case "Replace":
		// SentencePiece-derived tokenizers (Gemma, mmBERT): " " → "▁".
		from, err := n.Pattern.literal()
		if err != nil {
			return nil, fmt.Errorf("type Replace: %w", err)
		}
		return func(s string) string { return strings.ReplaceAll(s, from, n.Content) }, nil
	case "Prepend":
		if n.Prepend == "" {
			return nil, fmt.Errorf("type Prepend: empty prepend")
		}
		return func(s string) string {
			if s == "" {
				return s
			}
			return n.Prepend + s
		}, nil
	case "Sequence":
		var fns []func(string) string
		for i, r := range n.Normalizers {
			fn, err := newNormalizer(r)
			if err != nil {
				return nil, fmt.Errorf("sequence item %d: %w", i, err)
			}
			if fn != nil {
				fns = append(fns, fn)
			}
		}
		return func(s string) string {
			for _, fn := range fns {
				s = fn(s)
			}
			return s
		}, nil
	default:
		return nil, fmt.Errorf("type %q is not supported", n.Type)
	}
}

// pattern is a Replace or Split pattern: {"String": "..."} or
// {"Regex": "..."}. Only literal strings are supported: the library's
// regular expressions are Oniguruma's, not RE2.
type pattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p *pattern) literal() (string, error) {
	switch {
	case p == nil:
		return "", fmt.Errorf("no pattern")
	case p.Regex != nil:
		return "", fmt.Errorf("a Regex pattern (%q) is not supported, only a String one", *p.Regex)
	case p.String == nil || *p.String == "":
		return "", fmt.Errorf("empty pattern")
	}
	return *p.String, nil
}

// bertNormalizer is BERT's normalizer: clean text, space out CJK characters,
// strip accents, lowercase, in that order.
type bertNormalizer struct{ clean, chinese, strip, lower bool }

func (b bertNormalizer) normalize(s string) string {
	if b.clean || b.chinese {
		var sb strings.Builder
		sb.Grow(len(s) + len(s)/4)
		for _, r := range s {
			if b.clean {
				if r == 0 || r == unicode.ReplacementChar || isControl(r) {
					continue
				}
				if isWhitespace(r) {
					r = ' '
				}
			}
			if b.chinese && isCJK(r) {
				sb.WriteByte(' ')
				sb.WriteRune(r)
				sb.WriteByte(' ')
				continue
			}
			sb.WriteRune(r)
		}
		s = sb.String()
	}
	if b.strip {
		s = stripAccents(s)
	}
	if b.lower {
		s = lowercase(s)
	}
	return s
}

// stripAccents decomposes (NFD) and drops non-spacing marks.
func stripAccents(s string) string {
	if isASCII(s) { // NFD leaves ASCII as it is and it has no combining marks
		return s
	}
	s = norm.NFD.String(s)
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, s)
}

// lowercase applies the full Unicode lowercase mapping, which differs from
// the simple one Go's strings.ToLower uses only for U+0130.
func lowercase(s string) string {
	s = strings.ToLower(s)
	if strings.ContainsRune(s, '\u0130') {
		s = strings.ReplaceAll(s, "\u0130", "i\u0307")
	}
	return s
}

// isWhitespace is the library's whitespace test: Unicode White_Space.
func isWhitespace(r rune) bool {
	if r < utf8.RuneSelf { // ASCII fast path: the Unicode table lookups dominated tokenizing
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.Is(unicode.White_Space, r)
}

// isASCII reports whether s has no byte outside ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isControl: categories Cc, Cf, Cs, Co and unassigned code points, except the
// tab, newline and carriage return, which count as whitespace.
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	if r < utf8.RuneSelf { // ASCII: only the C0 controls and DEL are Cc; the rest is L, N, P, S or Z
		return r < ' ' || r == 0x7f
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs, unicode.Co) {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isCJK reports CJK Unified Ideographs (and extensions, compatibility
// ideographs), the blocks BERT splits into single characters.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// isPunctuation is BERT's punctuation test: ASCII punctuation or Unicode P*.
func isPunctuation(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}
