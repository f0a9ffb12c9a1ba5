package integration

import (
	"encoding/json"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/semanticselector"
)

// TestDecisions routes through config/semantic-epp-decisions.yaml: domain and
// keyword signals evaluated once, the first decision that holds picks the
// model, its system prompt replaces the client's, and the decision is named
// in x-selected-decision.
func TestDecisions(t *testing.T) {
	conn := startEPP(t, readConfig(t, "../../config/semantic-epp-decisions.yaml"), twoModelPool)
	chat := func(system, user string) []byte {
		return mustJSON(t, map[string]any{"model": "auto", "messages": []any{
			map[string]any{"role": "system", "content": system},
			map[string]any{"role": "user", "content": user}}})
	}
	cases := []struct {
		name, system, user  string
		wantModel, wantDec  string
		wantReason, wantSys string
	}{
		{"math decision", "Be brief.", "What is the integral of x squared from 0 to 3?", "phi4-mini", "math", semanticselector.SelectDecision, "Be brief."},
		{"keyword AND domain, prompt replaced", "Be brief.",
			"Urgent: should our company raise prices to protect its profit margin this quarter?",
			"llama3-8b", "urgent_business", semanticselector.SelectDecision,
			"You are a business advisor. The user is in a hurry; lead with the recommendation."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := send(t, conn, headersFor("/v1/chat/completions"), chat(tc.system, tc.user), 1<<20)
			if out.status != 0 {
				t.Fatalf("immediate response %d: %s", out.status, out.errorBody)
			}
			if out.headers[semanticselector.HeaderSelectedModel] != tc.wantModel ||
				out.headers[semanticselector.HeaderDecision] != tc.wantDec ||
				out.headers[semanticselector.HeaderSelectionReason] != tc.wantReason {
				t.Errorf("model/decision/reason = %q/%q/%q, want %q/%q/%q (category %q)",
					out.headers[semanticselector.HeaderSelectedModel], out.headers[semanticselector.HeaderDecision],
					out.headers[semanticselector.HeaderSelectionReason], tc.wantModel, tc.wantDec, tc.wantReason,
					out.headers[semanticselector.HeaderCategory])
			}
			var body struct {
				Messages []struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"messages"`
			}
			if err := json.Unmarshal(out.body, &body); err != nil || len(body.Messages) == 0 {
				t.Fatalf("forwarded body %s: %v", out.body, err)
			}
			if body.Messages[0].Role != "system" || body.Messages[0].Content != tc.wantSys {
				t.Errorf("system message %+v, want %q", body.Messages[0], tc.wantSys)
			}
		})
	}
}

// TestImportedVSRConfig: the installation guide's vLLM Semantic Router
// config, converted by vsr-import (its golden output), loads in the EPP and
// routes the guide's four requests as the guide says.
func TestImportedVSRConfig(t *testing.T) {
	conn := startEPP(t, readConfig(t, "../../cmd/vsr-import/testdata/istio-config.yaml"), twoModelPool)
	cases := []struct{ model, prompt, want string }{
		{"llama3-8b", "Hello, who are you?", "llama3-8b"},
		{"auto", "Linux is said to be an open source kernel because", "llama3-8b"},
		{"phi4-mini", "Hello, who are you?", "phi4-mini"},
		{"auto", "2+2 is", "phi4-mini"},
	}
	for _, tc := range cases {
		t.Run(tc.model+" "+tc.prompt, func(t *testing.T) {
			out := send(t, conn, headersFor("/v1/completions"), mustJSON(t, map[string]any{"model": tc.model, "prompt": tc.prompt}), 1<<20)
			if out.status != 0 {
				t.Fatalf("immediate response %d: %s", out.status, out.errorBody)
			}
			if got := out.headers[semanticselector.HeaderSelectedModel]; got != tc.want {
				t.Errorf("x-selected-model %q (decision %q), want %q", got, out.headers[semanticselector.HeaderDecision], tc.want)
			}
			if (out.destination == phiIP) != (tc.want == "phi4-mini") {
				t.Errorf("destination %s for %s", out.destination, tc.want)
			}
		})
	}
}
