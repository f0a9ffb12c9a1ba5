package tokenizer

import (
	"testing"
	"unicode"
)

// TestASCIIFastPaths: the ASCII shortcuts of isWhitespace, isControl and
// stripAccents agree with the Unicode definitions they shortcut.
func TestASCIIFastPaths(t *testing.T) {
	for r := rune(0); r < 0x80; r++ {
		if got, want := isWhitespace(r), unicode.Is(unicode.White_Space, r); got != want {
			t.Errorf("isWhitespace(%U) = %v, want %v", r, got, want)
		}
		want := r != '\t' && r != '\n' && r != '\r' &&
			(unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs, unicode.Co) ||
				!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z))
		if got := isControl(r); got != want {
			t.Errorf("isControl(%U) = %v, want %v", r, got, want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"plain ascii, 123!", "plain ascii, 123!"},
		{"café naïve", "cafe naive"},
		{"", ""},
	} {
		if got := stripAccents(tc.in); got != tc.want {
			t.Errorf("stripAccents(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
