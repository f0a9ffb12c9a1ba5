package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/window"
)

// testTokenizerNames are the tokenizers under testdata, by folder: BERT's
// WordPiece, a byte-level BPE, and byte-fallback BPEs in Gemma's (mmBERT's)
// form and two Llama-style forms (gen_fixtures.py).
var testTokenizerNames = []string{"wordpiece", "bpe", "bytefallback", "metaspace", "legacy"}

// testTokenizers loads every tokenizer under testdata by its folder name.
func testTokenizers(tb testing.TB) map[string]*Tokenizer {
	tks := map[string]*Tokenizer{}
	for _, name := range testTokenizerNames {
		tks[name] = loadTestTokenizer(tb, name)
	}
	return tks
}

// perByteReplacement reads invalid UTF-8 as one U+FFFD per invalid byte,
// the reading the tokenizer documents.
func perByteReplacement(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// FuzzTokenize checks, for every test tokenizer (testTokenizerNames) on
// arbitrary bytes: no panic, every id inside the vocabulary, at most
// one content id per input byte (plus the special tokens), the same ids on
// every call and through Each, Encode's special tokens and mask, and
// invalid UTF-8 read as one U+FFFD per invalid byte.
func FuzzTokenize(f *testing.F) {
	tks := testTokenizers(f)
	for _, s := range []string{"", "hello world", "\xff\xfe", "[CLS][SEP]", "机器 é 🍕", "  \t\n", "'s'll 123",
		"e\u0301cole", "\u200b\u200d\ufeff", "ＡＢＣ", strings.Repeat("z", 300), "[SEP] law [MASK]", "\xe2\x82 x", "\x00\x01",
		"▁▁ ▁x <0x41><bos>", "caf\u00e9\x07\u00e9 \u4e2d\x1b", "  a  ", "\U0001F9EC<unk><eos>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, tk := range tks {
			ids := tk.Tokenize(s)
			for _, id := range ids {
				if id < 0 || int(id) >= tk.VocabSize() {
					t.Fatalf("%s: id %d outside vocab %d for %q", name, id, tk.VocabSize(), s)
				}
			}
			if n := utf8.RuneCountInString(perByteReplacement(s)); len(ids) > 4*n+1 {
				// Byte-level BPE and byte fallback may spend up to 4 ids
				// (bytes) on one rune; a prepended ▁ is the +1.
				t.Fatalf("%s: %d ids for %d runes", name, len(ids), n)
			}
			if again := tk.Tokenize(s); !slices.Equal(again, ids) {
				t.Fatalf("%s: two tokenizations of %q differ", name, s)
			}
			var each []int32
			tk.Each(s, func(id int32) { each = append(each, id) })
			if !slices.Equal(each, ids) {
				t.Fatalf("%s: Each and Tokenize differ on %q", name, s)
			}
			if !utf8.ValidString(s) {
				if valid := tk.Tokenize(perByteReplacement(s)); !slices.Equal(valid, ids) {
					t.Fatalf("%s: %q and its U+FFFD reading tokenize differently", name, s)
				}
			}
			e := tk.Encode(s)
			if len(e.IDs) != len(ids)+tk.SpecialTokens() || len(e.TypeIDs) != len(e.IDs) || len(e.AttentionMask) != len(e.IDs) {
				t.Fatalf("%s: encoding of %q: %d ids, %d type ids, %d mask for %d content ids", name, s, len(e.IDs), len(e.TypeIDs), len(e.AttentionMask), len(ids))
			}
			for _, id := range e.IDs {
				if id < 0 || id >= int64(tk.VocabSize()) {
					t.Fatalf("%s: encoded id %d outside vocab %d", name, id, tk.VocabSize())
				}
			}
		}
	})
}

// FuzzHeadTail checks HeadTail (which may tokenize only the two ends of a
// long text) gives exactly the window of the full tokenization, for both
// tokenizers: never more than head+tail ids, all inside the vocabulary.
func FuzzHeadTail(f *testing.F) {
	tks := testTokenizers(f)
	f.Add("law court "+strings.Repeat("a b\tc\n", 1000), 5, 7)
	f.Add(strings.Repeat("[SEP] x ", 800), 0, 3)
	f.Add(strings.Repeat("law ", 2000), 1000, 1000)
	f.Add(strings.Repeat("z", 5000)+" "+strings.Repeat("y ", 10), 3, 3)
	f.Add("short", -1, 2)
	f.Fuzz(func(t *testing.T, text string, head, tail int) {
		head, tail = head%600, tail%600
		for name, tk := range tks {
			want, wantTrunc := window.Window(tk.Tokenize(text), max(head, 0), max(tail, 0))
			got, gotTrunc := tk.HeadTail(text, head, tail)
			if !slices.Equal(got, want) || gotTrunc != wantTrunc {
				t.Fatalf("%s: len %d head %d tail %d: got %d/%v want %d/%v", name, len(text), head, tail, len(got), gotTrunc, len(want), wantTrunc)
			}
			if len(got) > max(head, 0)+max(tail, 0) {
				t.Fatalf("%s: %d ids for a window of %d+%d", name, len(got), head, tail)
			}
			for _, id := range got {
				if id < 0 || int(id) >= tk.VocabSize() {
					t.Fatalf("%s: id %d outside vocab %d", name, id, tk.VocabSize())
				}
			}
		}
	})
}
