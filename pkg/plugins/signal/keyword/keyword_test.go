package keyword

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

func boolp(b bool) *bool { return &b }

func matched(t *testing.T, s *Signal, text string) string {
	t.Helper()
	res, err := s.Evaluate(context.Background(), &selection.Request{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range res.Matches {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		text string
		want bool
	}{
		{"any, one keyword", Rule{Keywords: []string{"urgent", "asap"}}, "Please answer ASAP!", true},
		{"any, none", Rule{Keywords: []string{"urgent", "asap"}}, "no hurry", false},
		{"word boundary by default", Rule{Keywords: []string{"art"}}, "start the engine", false},
		{"word boundary off", Rule{Keywords: []string{"art"}, WordBoundary: boolp(false)}, "start the engine", true},
		{"phrase", Rule{Keywords: []string{"credit card"}}, "my Credit  Card number", true},
		{"phrase out of order", Rule{Keywords: []string{"credit card"}}, "card credit", false},
		{"phrase at the end, truncated", Rule{Keywords: []string{"credit card"}}, "a credit", false},
		{"case sensitive", Rule{Keywords: []string{"SQL"}, CaseSensitive: true}, "write sql", false},
		{"case sensitive hit", Rule{Keywords: []string{"SQL"}, CaseSensitive: true}, "write SQL now", true},
		{"non-word keyword with boundary", Rule{Keywords: []string{"c++"}}, "I like C++.", true},
		{"non-word keyword inside a word", Rule{Keywords: []string{"c++"}}, "abc++", false},
		{"hyphenated keyword", Rule{Keywords: []string{"api-key"}}, "rotate the api-key today", true},
		{"all needs every keyword", Rule{Operator: "all", Keywords: []string{"refund", "order"}}, "refund please", false},
		{"all, every keyword", Rule{Operator: "AND", Keywords: []string{"refund", "order"}}, "refund my order", true},
		{"regex any", Rule{Regexes: []string{`\b\d{3}-\d{2}-\d{4}\b`}}, "ssn 123-45-6789", true},
		{"regex case-insensitive by default", Rule{Regexes: []string{`^hello`}}, "HELLO there", true},
		{"regex case-sensitive", Rule{Regexes: []string{`^hello`}, CaseSensitive: true}, "HELLO there", false},
		{"all over keyword and regex", Rule{Operator: "all", Keywords: []string{"error"}, Regexes: []string{`E\d+`}}, "error E42", true},
		{"all over keyword and regex, regex fails", Rule{Operator: "all", Keywords: []string{"error"}, Regexes: []string{`E\d+`}}, "error", false},
		{"unicode words", Rule{Keywords: []string{"über"}}, "Das ist Über cool", true},
		{"empty text", Rule{Keywords: []string{"x"}}, "", false},
		// The word index: Unicode case folding, word boundaries and phrases,
		// any and all over both indexes and the substring searches.
		{"folds non-ASCII upper case", Rule{Keywords: []string{"über"}}, "ÜBER alles", true},
		{"folds the keyword too", Rule{Keywords: []string{"ÜBER"}}, "über alles", true},
		{"Kelvin sign folds to k", Rule{Keywords: []string{"kelvin"}}, "\u212Aelvin scale", true},
		{"dotted capital I folds to i", Rule{Keywords: []string{"istanbul"}}, "İSTANBUL", true},
		{"case-sensitive keeps non-ASCII case", Rule{Keywords: []string{"über"}, CaseSensitive: true}, "ÜBER", false},
		{"non-ASCII word continues a word", Rule{Keywords: []string{"über"}}, "überall", false},
		{"ASCII word glued to a non-ASCII letter", Rule{Keywords: []string{"cafe"}}, "cafeé", false},
		{"non-ASCII keyword at the end", Rule{Keywords: []string{"brûlée"}}, "crème brûlée", true},
		{"non-ASCII phrase", Rule{Keywords: []string{"crème brûlée"}}, "Une CRÈME BRÛLÉE, merci", true},
		{"phrase across a non-breaking space", Rule{Keywords: []string{"credit card"}}, "credit\u00a0card", true},
		{"phrase across punctuation", Rule{Keywords: []string{"credit card"}}, "credit, card", true},
		{"phrase after a repeated first word", Rule{Keywords: []string{"credit card"}}, "credit credit card", true}, //nolint:dupword // the repeat is the case
		{"phrase whose next word is longer", Rule{Keywords: []string{"credit card"}}, "credit cards", false},
		{"underscore is a word character", Rule{Keywords: []string{"token"}}, "my_token", false},
		{"digits are word characters", Rule{Keywords: []string{"ticket"}}, "ticket42", false},
		{"keyword with digits", Rule{Keywords: []string{"keyword49"}}, "see keyword49.", true},
		{"invalid UTF-8 separates words", Rule{Keywords: []string{"abc"}}, "x\xffabc\xff", true},
		{"long word is not a prefix", Rule{Keywords: []string{"abc"}}, "abcdefghijklmnopqrstuvwxyz", false},
		{"keyword over 15 bytes", Rule{Keywords: []string{"internationalisation"}}, "Internationalisation!", true},
		{"keyword over 15 bytes, other word", Rule{Keywords: []string{"internationalisation"}}, "internationalization", false},
		{"all over both indexes", Rule{Operator: "all", Keywords: []string{"refund", "SKU"}, CaseSensitive: true}, "refund SKU", true},
		{"any mixes indexed and substring keywords", Rule{Keywords: []string{"refund", "c++"}}, "C++ please", true},
		{"all mixes indexed and substring keywords", Rule{Operator: "all", Keywords: []string{"refund", "c++"}}, "C++ refund", true},
		{"all misses the indexed keyword", Rule{Operator: "all", Keywords: []string{"refund", "c++"}}, "C++ only", false},
		{"substring folds non-ASCII", Rule{Keywords: []string{"straße-x"}}, "STRASSE STRAßE-X", true},
		{"substring over a prompt longer than its buffer", Rule{Keywords: []string{"api-key"}}, strings.Repeat("Lorem ipsum ", 200) + "API-KEY", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Name = "r"
			s, err := New("kw", Parameters{Rules: []Rule{tc.rule}})
			if err != nil {
				t.Fatal(err)
			}
			if got := matched(t, s, tc.text) == "r"; got != tc.want {
				t.Fatalf("match(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestSeveralRulesShareKeywords(t *testing.T) {
	s, err := New("kw", Parameters{Rules: []Rule{
		{Name: "a", Keywords: []string{"urgent"}},
		{Name: "b", Keywords: []string{"urgent", "now"}, Operator: OpAll},
		{Name: "c", Keywords: []string{"URGENT"}, CaseSensitive: true},
		{Name: "d", Keywords: []string{"later"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := matched(t, s, "urgent: do it now"); got != "a,b" {
		t.Fatalf("matched %q, want a,b", got)
	}
	if got := matched(t, s, "URGENT"); got != "a,c" {
		t.Fatalf("matched %q, want a,c", got)
	}
}

func TestFactoryErrors(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"missing", ``, "parameters are required"},
		{"unknown field", `{"rules":[{"name":"a","keywords":["x"],"method":"bm25"}]}`, `unknown field "method"`},
		{"no rules", `{"rules":[]}`, "at least one rule"},
		{"empty name", `{"rules":[{"keywords":["x"]}]}`, "rules[0].name: must not be empty"},
		{"duplicate", `{"rules":[{"name":"a","keywords":["x"]},{"name":"a","keywords":["y"]}]}`, `rules[1].name: "a" is already`},
		{"bad operator", `{"rules":[{"name":"a","operator":"xor","keywords":["x"]}]}`, `rules[0].operator: "xor"`},
		{"nothing to match", `{"rules":[{"name":"a"}]}`, "rules[0]: a rule needs keywords or regexes"},
		{"empty keyword", `{"rules":[{"name":"a","keywords":[" "]}]}`, "rules[0].keywords[0]: must not be empty"},
		{"not RE2", `{"rules":[{"name":"a","regexes":["(?=x)"]}]}`, "rules[0].regexes[0]: not an RE2 expression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Factory("kw", json.RawMessage(tc.raw), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFactoryAndTypedName(t *testing.T) {
	p, err := Factory("keywords", json.RawMessage(`{"rules":[{"name":"a","keywords":["x"]}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tn := p.TypedName(); tn.Type != Type || tn.Name != "keywords" {
		t.Fatalf("TypedName = %+v", tn)
	}
	if _, err := p.(*Signal).Evaluate(canceled(), &selection.Request{Text: "x"}); err == nil {
		t.Fatal("Evaluate ignored a cancelled context")
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
