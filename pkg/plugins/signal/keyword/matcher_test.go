package keyword

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestAppendLowerIsStringsToLower(t *testing.T) {
	for _, s := range []string{
		"", "abc", "Hello, World", "ÜBER", "İSTANBUL", "ΣΊΣΥΦΟΣ", "\u212Aelvin", // Kelvin sign
		"ǅ titlecase", "Straße", "\xff invalid", "cut \xe2\x82", "\uFFFD valid replacement", "ＦＵＬＬＷＩＤＴＨ",
	} {
		if got, want := string(appendLower(nil, s)), strings.ToLower(s); got != want {
			t.Errorf("appendLower(%q) = %q, want strings.ToLower's %q", s, got, want)
		}
	}
}

// TestManyKeywords crosses the sizes that fit the matcher's stack buffers.
func TestManyKeywords(t *testing.T) {
	var rules []Rule
	for i := range 300 {
		rules = append(rules, Rule{Name: fmt.Sprintf("r%d", i), Keywords: []string{fmt.Sprintf("word%d", i)}})
	}
	s, err := New("kw", Parameters{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if got := matched(t, s, "WORD299 and word3"); got != "r299,r3" {
		t.Fatalf("matched %q, want r299,r3", got)
	}
}

// referenceMatch is the plain definition of a rule set: each keyword
// searched in the (lower-cased) text on its own, as a sequence of whole
// words or as a substring. The matcher must agree with it on every text.
func referenceMatch(rules []Rule, regexes [][]*regexp.Regexp, text string) string {
	var out []string
	for i, r := range rules {
		var hits []bool
		for _, kw := range r.Keywords {
			hay, kw := text, strings.TrimSpace(kw)
			if !r.CaseSensitive {
				hay, kw = strings.ToLower(hay), strings.ToLower(kw)
			}
			words := splitWords(nil, kw)
			if *r.WordBoundary && strings.Join(words, " ") == kw {
				hits = append(hits, containsRun(splitWords(nil, hay), words))
			} else {
				hits = append(hits, containsKeyword(hay, kw, *r.WordBoundary))
			}
		}
		for _, re := range regexes[i] {
			hits = append(hits, re.MatchString(text))
		}
		if r.Operator == OpAll && !slices.Contains(hits, false) || r.Operator == OpAny && slices.Contains(hits, true) {
			out = append(out, r.Name)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func containsRun(words, run []string) bool {
	for i := 0; i+len(run) <= len(words); i++ {
		if slices.Equal(words[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// agreementRules mix the two case modes, phrases, substrings, boundaries
// off, any and all, and a regex.
var agreementRules = []Rule{
	{Name: "words", Keywords: []string{"urgent", "asap", "keyword49"}},
	{Name: "phrase", Keywords: []string{"credit card", "crème brûlée", "a b c"}},
	{Name: "exact", Keywords: []string{"SQL", "Über"}, CaseSensitive: true},
	{Name: "both", Operator: OpAll, Keywords: []string{"refund", "order"}},
	{Name: "substr", Keywords: []string{"c++", "api-key", "straße-x"}},
	{Name: "inside", Keywords: []string{"art", "ÉT"}, WordBoundary: boolp(false)},
	{Name: "mixed", Operator: OpAll, Keywords: []string{"error", "E-42"}, Regexes: []string{`\d+`}},
	{Name: "ssn", Regexes: []string{`\b\d{3}-\d{2}-\d{4}\b`}},
}

var agreementTexts = []string{
	"", "urgent", "URGENT: ASAP", "my Credit  Card", "credit", "credit credit card", "CRÈME BRÛLÉE", //nolint:dupword // repeats are cases
	"a b c", "a b", "a a b c", "write SQL", //nolint:dupword // repeats are cases "write sql", "Über", "über", "REFUND my ORDER", "refund",
	"I like C++.", "abc++", "rotate the API-KEY", "STRAßE-X", "start", "ÉTÉ", "Été", "error E-42 at 7",
	"error e-42", "ssn 123-45-6789", "x\xffurgent\xff", "İSTANBUL urgent", "\u212Aeyword49",
	"keyword49_", "_keyword49", "urgent\u00a0now", prompt128,
}

func TestMatcherAgreesWithReference(t *testing.T) {
	s, err := New("kw", Parameters{Rules: slices.Clone(agreementRules)})
	if err != nil {
		t.Fatal(err)
	}
	rules, regexes := agreementParams(t)
	for _, text := range agreementTexts {
		if got, want := matched(t, s, text), referenceMatch(rules, regexes, text); got != want {
			t.Errorf("match(%q) = %q, reference %q", text, got, want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, text := range agreementTexts {
		f.Add(text)
	}
	s, err := New("kw", Parameters{Rules: slices.Clone(agreementRules)})
	if err != nil {
		f.Fatal(err)
	}
	rules, regexes := agreementParams(f)
	f.Fuzz(func(t *testing.T, text string) {
		if got, want := matched(t, s, text), referenceMatch(rules, regexes, text); got != want {
			t.Fatalf("match(%q) = %q, reference %q", text, got, want)
		}
	})
}

func agreementParams(tb testing.TB) ([]Rule, [][]*regexp.Regexp) {
	tb.Helper()
	p := Parameters{Rules: slices.Clone(agreementRules)}
	p.applyDefaults()
	regexes, err := p.validate()
	if err != nil {
		tb.Fatal(err)
	}
	return p.Rules, regexes
}
