package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/window"
)

// randomText mixes words, scripts, punctuation, whitespace, special-token
// literals, invalid bytes and long words.
func randomText(r *rand.Rand, n int) string {
	parts := []string{"law", "court", "Café", "naïve", "机器学习", "🍕", "x^2", "don't", "[SEP]", "[MASK]",
		"\xff", "\xe2\x82", ",", "...", "(a)", strings.Repeat("z", 120), "ＡＢＣ", "e\u0301", "\u200b", "\x00"}
	seps := []string{" ", "  ", "\n", "\t", "\r\n", "", "\u00a0", "\u3000"}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(parts[r.IntN(len(parts))])
		b.WriteString(seps[r.IntN(len(seps))])
	}
	return b.String()
}

// TestHeadTailMatchesWindow: HeadTail gives exactly what windowing the full
// tokenization gives, on texts long enough for the two-ends path.
func TestHeadTailMatchesWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, dir := range []string{"wordpiece", "bpe"} {
		tk := loadTestTokenizer(t, dir)
		for i := range 300 {
			text := randomText(r, []int{100, 5000, 20000, 120000}[i%4])
			head, tail := r.IntN(300), r.IntN(300)
			if i%10 == 0 {
				head, tail = 0, r.IntN(50)
			}
			full := tk.Tokenize(text)
			want, wantTrunc := window.Window(full, head, tail)
			got, gotTrunc := tk.HeadTail(text, head, tail)
			if !slices.Equal(got, want) || gotTrunc != wantTrunc {
				t.Fatalf("%s case %d (len %d, head %d, tail %d, %d ids): got %d ids truncated=%v, want %d truncated=%v",
					dir, i, len(text), head, tail, len(full), len(got), gotTrunc, len(want), wantTrunc)
			}
		}
	}
}

// TestHeadTailExactFit: a text whose ids exactly fill the window is not
// truncated, on both paths.
func TestHeadTailExactFit(t *testing.T) {
	tk := loadTestTokenizer(t, "wordpiece")
	text := strings.Repeat("law ", 2000) // 2000 ids, 8000 bytes
	tests := []struct {
		head, tail int
		truncated  bool
	}{
		{1000, 1000, false},
		{999, 1000, true},
		{1500, 600, false},
		{10, 10, true},
	}
	for _, tt := range tests {
		ids, truncated := tk.HeadTail(text, tt.head, tt.tail)
		if truncated != tt.truncated || len(ids) != min(2000, tt.head+tt.tail) {
			t.Errorf("head %d tail %d: %d ids truncated=%v, want truncated=%v", tt.head, tt.tail, len(ids), truncated, tt.truncated)
		}
	}
}

func BenchmarkHeadTail1MB(b *testing.B) {
	tk := loadTestTokenizer(b, "wordpiece")
	text := strings.Repeat("The court held that the contract was void. ", 1<<20/43)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tk.HeadTail(text, 255, 255)
	}
}
