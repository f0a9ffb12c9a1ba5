package semanticselector

import (
	"context"
	"testing"

	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/plugins/requesthandling/parsers/openai"
)

func TestExtractText(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		body    string
		want    string
		wantSrc textSource
	}{
		{"chat last user", "/v1/chat/completions",
			`{"model":"auto","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":"second"}]}`,
			"second", sourceUser},
		{"chat text parts joined, image ignored", "/v1/chat/completions",
			`{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"http://x/y.png"}},{"type":"text","text":"b"}]}]}`,
			"a\nb", sourceUser},
		{"chat only image", "/v1/chat/completions",
			`{"model":"auto","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}]}`,
			"", sourceNone},
		{"chat falls back to other role", "/v1/chat/completions",
			`{"model":"auto","messages":[{"role":"system","content":"sys text"},{"role":"user","content":"  "}]}`,
			"sys text", sourceOtherRole},
		{"completions string", "/v1/completions", `{"model":"auto","prompt":"2+2 is"}`, "2+2 is", sourcePrompt},
		{"completions list", "/v1/completions", `{"model":"auto","prompt":["a","b"]}`, "a\nb", sourcePrompt},
		{"responses string", "/v1/responses", `{"model":"auto","input":"hello"}`, "hello", sourceInput},
		{"responses items", "/v1/responses",
			`{"model":"auto","input":[{"role":"user","content":[{"type":"input_text","text":"q1"}]},{"role":"assistant","content":"a1"},{"role":"user","content":"q2"}]}`,
			"q2", sourceUser},
		{"conversations items", "/v1/conversations",
			`{"model":"auto","items":[{"type":"message","role":"user","content":[{"type":"input_text","text":"conv"}]}]}`,
			"conv", sourceUser},
		{"embeddings list", "/v1/embeddings", `{"model":"auto","input":["x","y"]}`, "x\ny", sourceInput},
	}
	parser := openai.NewOpenAIParser()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parsed, err := parser.ParseRequest(context.Background(), []byte(tc.body), map[string]string{":path": tc.path})
			if err != nil {
				t.Fatalf("upstream parser: %v", err)
			}
			got, src := extractText(parsed)
			if got != tc.want || src != tc.wantSrc {
				t.Errorf("extractText = (%q, %q), want (%q, %q)", got, src, tc.want, tc.wantSrc)
			}
		})
	}
	if got, src := extractText(nil); got != "" || src != sourceNone {
		t.Errorf("extractText(nil) = (%q, %q), want empty", got, src)
	}
}

func TestPick(t *testing.T) {
	route := []CategoryModel{{Model: "a", Weight: 1}, {Model: "b", Weight: 0}, {Model: "c", Weight: 3}}
	tests := []struct {
		name  string
		route []CategoryModel
		r     float64
		want  string
	}{
		{"no weights: first ranked", []CategoryModel{{Model: "x"}, {Model: "y"}}, 0.99, "x"},
		{"low draw", route, 0.0, "a"},
		{"just below first share", route, 0.249, "a"},
		{"zero weight skipped", route, 0.25, "c"},
		{"top draw", route, 0.999, "c"},
		{"rounding falls to last weighted", route, 1.0, "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.route[pickIndex(tc.route, func() float64 { return tc.r })]
			if got.Model != tc.want {
				t.Errorf("pick = %q, want %q", got.Model, tc.want)
			}
		})
	}
}
