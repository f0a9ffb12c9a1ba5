package semanticselector

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkParseRequest measures the parser's cost per request: the
// upstream OpenAI parse alone (pass-through) and with selection by the
// embedded linear classifier.
func BenchmarkParseRequest(b *testing.B) {
	clf := realClassifier(b)
	s, err := New("sel", paramsFor(b, clf.Labels(), ""), clf)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		body []byte
	}{
		{"passthrough", chatBody("llama3-8b", "2+2 is")},
		{"auto-short", chatBody("auto", "2+2 is")},
		{"auto-4KiB", chatBody("auto", strings.Repeat("Linux is an open source kernel. ", 128))},
		{"passthrough-1MiB", chatBody("llama3-8b", strings.Repeat("Linux is an open source kernel. ", 32768))},
		{"auto-1MiB", chatBody("auto", strings.Repeat("Linux is an open source kernel. ", 32768))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.ParseRequest(context.Background(), c.body, chatHeaders()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
