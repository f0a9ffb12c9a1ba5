package linear

import (
	"context"
	"strings"
	"sync"
	"testing"
)

var (
	fuzzOnce  sync.Once
	fuzzModel *Model
)

// FuzzClassify feeds arbitrary strings to the featurizer and the classifier:
// no panic, no error, a well-formed result, and the same result twice.
// The seed corpus runs in plain `go test`; `go test -fuzz FuzzClassify`
// explores further.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"", " ", "a", "What is the derivative of x^2?", "\xff", "a\x00b", "\u200b\u200d", "ÉCOLE",
		"日本語のテキスト", "مرحبا بالعالم", "हिन्दी", strings.Repeat("x", 100), strings.Repeat("word ", 40),
		"a\u0301\u0301\u0301", "\U0010FFFF", "e\u0301cole", "💡 emoji 🧪 test",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fuzzOnce.Do(func() { fuzzModel = trainTiny(t) })
		m := fuzzModel
		r1, err := m.Classify(context.Background(), text)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, m, r1)
		r2, _ := m.Classify(context.Background(), text)
		if r1.Label != r2.Label || r1.Confidence != r2.Confidence {
			t.Fatalf("two calls differ: %v / %v", r1, r2)
		}
		var s scratch
		m.feat.featurize(text, &s)
		for _, b := range s.idx {
			if int(b) >= m.feat.Buckets() {
				t.Fatalf("bucket %d out of range", b)
			}
		}
	})
}
