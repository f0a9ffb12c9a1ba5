package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSplitAndMetaspace pins the pieces of every Split behaviour and of
// Metaspace to those of the Python library's pre_tokenize_str on the same
// inputs (runs of the pattern, at both ends, and an empty text).
func TestSplitAndMetaspace(t *testing.T) {
	spaces, xy := "  a  b c   ", "xyxyaxyxybxy"
	tests := []struct {
		behavior     splitBehavior
		spaces, onXY []string
	}{
		{removed, []string{"a", "b", "c"}, []string{"a", "b"}},
		{isolated, []string{" ", " ", "a", " ", " ", "b", " ", "c", " ", " ", " "}, []string{"xy", "xy", "a", "xy", "xy", "b", "xy"}},
		{mergedWithPrevious, []string{" ", " ", "a ", " ", "b ", "c ", " ", " "}, []string{"xy", "xy", "axy", "xy", "bxy"}},
		{mergedWithNext, []string{" ", " a", " ", " b", " c", " ", " ", " "}, []string{"xy", "xya", "xy", "xyb", "xy"}},
		{contiguous, []string{"  ", "a", "  ", "b", " ", "c", "   "}, []string{"xyxy", "a", "xyxy", "b", "xy"}},
	}
	pieces := func(pt preTokenizer, s string) []string {
		var out []string
		pt(s, true, func(p string) { out = append(out, p) })
		return out
	}
	for _, tt := range tests {
		for _, c := range []struct {
			text, pat string
			want      []string
		}{{spaces, " ", tt.spaces}, {xy, "xy", tt.onXY}, {"", " ", nil}} {
			var got []string
			splitOn(c.text, c.pat, tt.behavior, func(p string) { got = append(got, p) })
			if !slices.Equal(got, c.want) {
				t.Errorf("behavior %d on %q: got %q, want %q", tt.behavior, c.text, got, c.want)
			}
		}
	}
	always, err := newMetaspace("▁", "always", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pieces(always, "  hi  there "), []string{"▁", "▁hi", "▁", "▁there", "▁"}; !slices.Equal(got, want) {
		t.Errorf("Metaspace always: got %q, want %q", got, want)
	}
	legacy := false
	never, err := newMetaspace("▁", "", &legacy, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pieces(never, "  hi  there "), []string{"▁▁hi▁▁there▁"}; !slices.Equal(got, want) {
		t.Errorf("Metaspace add_prefix_space false, no split: got %q, want %q", got, want)
	}
}

// TestBPERepeatedMerge: a merge listed twice takes its last rank, as in the
// library (whose ids for "abc" here are a, bc; the first rank would give
// ab, c).
func TestBPERepeatedMerge(t *testing.T) {
	data := `{"model":{"type":"BPE","vocab":{"a":0,"b":1,"c":2,"ab":3,"bc":4},"merges":[["a","b"],["b","c"],["a","b"]]}}`
	tk, err := LoadFS(fstest.MapFS{"tokenizer.json": {Data: []byte(data)}}, "tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Tokenize("abc"); !slices.Equal(got, []int32{0, 4}) {
		t.Fatalf("abc = %v, want [0 4] (a, bc)", got)
	}
}

// TestCutAtMark: a long piece is encoded in parts cut before ▁ only when
// no token holds ▁ after another character; with such a token ("a▁" here)
// the piece stays whole and the merge across the ▁ happens.
func TestCutAtMark(t *testing.T) {
	const head = `{"normalizer":{"type":"Replace","pattern":{"String":" "},"content":"▁"},"model":{"type":"BPE",`
	text := strings.Repeat("a b", 40) // 120 bytes after the normalizer: above the 64-byte cut-off
	tests := []struct {
		name, model string
		cut         bool
		first       []int32
	}{
		{"cut", `"vocab":{"▁":0,"a":1,"b":2,"▁b":3},"merges":[["▁","b"]]}}`, true, []int32{1, 3, 1, 3}},
		{"token across the mark", `"vocab":{"▁":0,"a":1,"b":2,"a▁":3},"merges":[["a","▁"]]}}`, false, []int32{3, 2, 3, 2}},
	}
	for _, tt := range tests {
		tk, err := LoadFS(fstest.MapFS{"tokenizer.json": {Data: []byte(head + tt.model)}}, "tokenizer.json")
		if err != nil {
			t.Fatal(err)
		}
		if got := tk.model.(*bpe).cutAtMark; got != tt.cut {
			t.Errorf("%s: cutAtMark %v, want %v", tt.name, got, tt.cut)
		}
		if got := tk.Tokenize(text); len(got) < 4 || !slices.Equal(got[:4], tt.first) {
			t.Errorf("%s: ids start %v, want %v", tt.name, got[:min(4, len(got))], tt.first)
		}
	}
}
