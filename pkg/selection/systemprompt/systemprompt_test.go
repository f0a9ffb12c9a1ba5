package systemprompt

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"
)

// body parses a chat-completions JSON the way the upstream parser leaves it:
// the payload map and the parsed messages.
func body(t *testing.T, js string) *fwksched.LLMRequestBody {
	t.Helper()
	var pm map[string]any
	if err := json.Unmarshal([]byte(js), &pm); err != nil {
		t.Fatal(err)
	}
	var cc fwksched.ChatCompletionsRequest
	if err := json.Unmarshal([]byte(js), &cc); err != nil {
		t.Fatal(err)
	}
	return &fwksched.LLMRequestBody{ChatCompletions: &cc, Payload: fwksched.PayloadMap(pm)}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name, req, mode string
		wantPayload     string // JSON of the payload's messages
		wantFirst       string // parsed first message: role|plain text
	}{
		{"insert into existing", `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]}`, "insert",
			`[{"content":"P\n\nBe brief.","role":"system"},{"content":"hi","role":"user"}]`, "system|P\n\nBe brief."},
		{"insert is the default", `{"messages":[{"role":"system","content":"Be brief."}]}`, "",
			`[{"content":"P\n\nBe brief.","role":"system"}]`, "system|P\n\nBe brief."},
		{"insert without system adds one", `{"messages":[{"role":"user","content":"hi"}]}`, "insert",
			`[{"content":"P","role":"system"},{"content":"hi","role":"user"}]`, "system|P"},
		{"insert into empty system", `{"messages":[{"role":"system","content":""}]}`, "insert",
			`[{"content":"P","role":"system"}]`, "system|P"},
		{"replace existing", `{"messages":[{"role":"user","content":"hi"},{"role":"system","content":"Old."}]}`, "replace",
			`[{"content":"hi","role":"user"},{"content":"P","role":"system"}]`, "user|hi"},
		{"replace without system adds one", `{"messages":[{"role":"user","content":"hi"}]}`, "replace",
			`[{"content":"P","role":"system"},{"content":"hi","role":"user"}]`, "system|P"},
		{"insert into structured content", `{"messages":[{"role":"system","content":[{"type":"text","text":"Old."}]}]}`, "insert",
			`[{"content":[{"text":"P\n\n","type":"text"},{"text":"Old.","type":"text"}],"role":"system"}]`, "system|P\n\n Old."},
		{"replace structured content", `{"messages":[{"role":"system","content":[{"type":"text","text":"Old."}]}]}`, "replace",
			`[{"content":"P","role":"system"}]`, "system|P"},
		{"empty message list", `{"messages":[]}`, "insert", `[{"content":"P","role":"system"}]`, "system|P"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := body(t, tc.req)
			if err := Apply(b, "P", tc.mode); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(b.Payload.(fwksched.PayloadMap)["messages"])
			if string(got) != tc.wantPayload {
				t.Errorf("payload messages = %s, want %s", got, tc.wantPayload)
			}
			m := b.ChatCompletions.Messages[0]
			if first := m.Role + "|" + strings.TrimSpace(m.Content.PlainText()); first != tc.wantFirst {
				t.Errorf("parsed first message = %q, want %q", first, tc.wantFirst)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	if err := Apply(body(t, `{"messages":[]}`), "P", "append"); err == nil || !strings.Contains(err.Error(), `"append"`) {
		t.Errorf("bad mode: %v", err)
	}
	completions := &fwksched.LLMRequestBody{Payload: fwksched.PayloadMap{"prompt": "hi"}}
	if err := Apply(completions, "P", "insert"); !errors.Is(err, ErrNoMessages) {
		t.Errorf("completions: %v, want ErrNoMessages", err)
	}
	if err := Apply(nil, "P", "insert"); !errors.Is(err, ErrNoMessages) {
		t.Errorf("nil body: %v", err)
	}
	bad := &fwksched.LLMRequestBody{Payload: fwksched.PayloadMap{"messages": "hi"}}
	if err := Apply(bad, "P", "insert"); err == nil || !strings.Contains(err.Error(), "messages: expected a list") {
		t.Errorf("messages not a list: %v", err)
	}
	bad = &fwksched.LLMRequestBody{Payload: fwksched.PayloadMap{"messages": []any{"hi"}}}
	if err := Apply(bad, "P", "insert"); err == nil || !strings.Contains(err.Error(), "messages[0]: expected an object") {
		t.Errorf("message not an object: %v", err)
	}
	bad = &fwksched.LLMRequestBody{Payload: fwksched.PayloadMap{"messages": []any{map[string]any{"role": "system", "content": 3.0}}}}
	if err := Apply(bad, "P", "insert"); err == nil || !strings.Contains(err.Error(), "messages[0].content") {
		t.Errorf("content a number: %v", err)
	}
}
