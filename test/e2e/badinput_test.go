//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputs holds the bad-input table of docs/troubleshooting.md: each
// input, the status the client gets and a part of the body that tells it
// what to fix.
func TestBadInputs(t *testing.T) {
	need(t)
	chat, comp := "/v1/chat/completions", "/v1/completions"
	json := "application/json"
	tests := []struct {
		name, path, ctype, body string
		status                  int
		wantIn                  string
	}{
		{"empty body", chat, json, ``, 400, "parse request body"},
		{"bad JSON", chat, json, `{"model":"auto","messages":[`, 400, "unmarshaling request"},
		{"not JSON", comp, json, `hello`, 400, "invalid character"},
		{"no model", chat, json, `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model"},
		{"model not a string", chat, json, `{"model":7,"messages":[{"role":"user","content":"hi"}]}`, 400, "model not found"},
		{"messages not a list", chat, json, `{"model":"auto","messages":"hi"}`, 400, "valid messages"},
		// Current behaviour, not a goal: the EPP and the simulator accept
		// a message without content (as an empty one) ...
		{"message without content", chat, json, `{"model":"auto","messages":[{"role":"user"}]}`, 200, ""},
		{"completions without prompt", comp, json, `{"model":"auto"}`, 400, "prompt"},
		{"prompt not a string", comp, json, `{"model":"auto","prompt":{"a":1}}`, 400, "prompt"},
		{"streaming, bad JSON", chat, json, `{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}`, 400, "unmarshaling request"},
		// ... and invalid UTF-8, which Go's JSON decoder turns into U+FFFD.
		{"non-UTF-8 prompt", comp, json, "{\"model\":\"auto\",\"prompt\":\"caf\xe9 \xff\xfe\",\"max_tokens\":5}", 200, ""},
		{"wrong content type", comp, "text/plain", `{"model":"llama3-8b","prompt":"hi","max_tokens":5}`, 200, ""},
		{"prompt over the model's context", comp, json, `{"model":"llama3-8b","max_tokens":5,"prompt":"` + strings.Repeat("word ", 1500) + `"}`, 400, "maximum context length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := httpc.Post(sb.GatewayURL+tc.path, tc.ctype, strings.NewReader(tc.body))
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			t.Logf("%d %.300q", resp.StatusCode, b)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.wantIn) {
				t.Errorf("got %d %.200q, want %d mentioning %q", resp.StatusCode, b, tc.status, tc.wantIn)
			}
			if resp.StatusCode != http.StatusOK && len(b) == 0 {
				t.Errorf("an error without a body")
			}
		})
	}
}
