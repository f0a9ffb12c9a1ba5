package semanticselector

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const validParams = `{
  "models": [{"name": "phi4-mini"}, {"name": "llama3-8b"}, {"name": "qwen3-8b", "reasoningFamily": "qwen3"}],
  "categories": [
    {"name": "math", "models": [{"model": "phi4-mini"}]},
    {"name": "computer science", "models": [{"model": "llama3-8b", "weight": 3}, {"model": "qwen3-8b", "weight": 1, "reasoning": true}]}
  ],
  "defaultModel": "llama3-8b"
}`

func TestDecodeParametersDefaults(t *testing.T) {
	p, err := DecodeParameters(json.RawMessage(validParams))
	if err != nil {
		t.Fatalf("DecodeParameters: %v", err)
	}
	if len(p.AutoModelNames) != 1 || p.AutoModelNames[0] != "auto" {
		t.Errorf("AutoModelNames = %v, want [auto]", p.AutoModelNames)
	}
	if p.ClassifierTimeout.Duration != DefaultClassifierTimeout {
		t.Errorf("ClassifierTimeout = %v, want %v", p.ClassifierTimeout.Duration, DefaultClassifierTimeout)
	}
	if p.FailurePolicy != FailOpen {
		t.Errorf("FailurePolicy = %q, want %q", p.FailurePolicy, FailOpen)
	}
	for _, fam := range []string{"qwen3", "deepseek", "gpt-oss"} {
		if _, ok := p.ReasoningFamilies[fam]; !ok {
			t.Errorf("built-in reasoning family %q missing", fam)
		}
	}
}

func TestDecodeParametersOverrides(t *testing.T) {
	raw := `{"autoModelNames": ["auto", "router"], "models": [{"name": "m", "reasoningFamily": "mine"}],
	  "reasoningFamilies": {"mine": {"type": "reasoning_effort"}}, "categories": [],
	  "defaultModel": "m", "threshold": 0.5, "classifierTimeout": "25ms", "failurePolicy": "closed"}`
	p, err := DecodeParameters(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("DecodeParameters: %v", err)
	}
	if p.ClassifierTimeout.Duration != 25*time.Millisecond || p.FailurePolicy != FailClosed || p.Threshold != 0.5 {
		t.Errorf("overrides not applied: %+v", p)
	}
	fam := p.ReasoningFamilies["mine"]
	if fam.Parameter != "reasoning_effort" || fam.EffortOn != "high" || fam.EffortOff != "low" {
		t.Errorf("reasoning_effort defaults not applied: %+v", fam)
	}
}

func TestDecodeParametersErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string // substring of the error, naming the field
	}{
		{"empty", ``, "parameters are required"},
		{"null", `null`, "parameters are required"},
		{"not json", `{`, "invalid parameters"},
		{"unknown field", `{"modls": []}`, "unknown field"},
		{"no models", `{"categories": [], "defaultModel": "x"}`, "models: declare at least one model"},
		{"no default", `{"models": [{"name": "a"}], "categories": []}`, "defaultModel: required"},
		{"unknown default", `{"models": [{"name": "a"}], "defaultModel": "b"}`, `defaultModel: unknown model "b"`},
		{"unknown category model", `{"models": [{"name": "a"}], "defaultModel": "a",
		  "categories": [{"name": "math", "models": [{"model": "a"}]}, {"name": "cs", "models": [{"model": "zz"}]}]}`,
			`categories[1].models[0].model: unknown model "zz"`},
		{"duplicate model", `{"models": [{"name": "a"}, {"name": "a"}], "defaultModel": "a"}`, `models[1].name: "a" declared twice`},
		{"empty model name", `{"models": [{"name": ""}], "defaultModel": "a"}`, "models[0].name: must not be empty"},
		{"auto as model", `{"models": [{"name": "auto"}], "defaultModel": "auto"}`, "models[0].name: \"auto\" is also an auto model name"},
		{"unknown family", `{"models": [{"name": "a", "reasoningFamily": "nope"}], "defaultModel": "a"}`, `models[0].reasoningFamily: unknown family "nope"`},
		{"reasoning without family", `{"models": [{"name": "a"}], "defaultModel": "a",
		  "categories": [{"name": "math", "models": [{"model": "a", "reasoning": true}]}]}`, "categories[0].models[0].reasoning"},
		{"negative weight", `{"models": [{"name": "a"}], "defaultModel": "a",
		  "categories": [{"name": "math", "models": [{"model": "a", "weight": -1}]}]}`, "categories[0].models[0].weight"},
		{"empty category", `{"models": [{"name": "a"}], "defaultModel": "a", "categories": [{"name": "math"}]}`, "categories[0].models"},
		{"duplicate category", `{"models": [{"name": "a"}], "defaultModel": "a",
		  "categories": [{"name": "m", "models": [{"model": "a"}]}, {"name": "m", "models": [{"model": "a"}]}]}`, `categories[1].name: "m" listed twice`},
		{"threshold", `{"models": [{"name": "a"}], "defaultModel": "a", "threshold": 1.5}`, "threshold"},
		{"bad timeout", `{"models": [{"name": "a"}], "defaultModel": "a", "classifierTimeout": "soon"}`, "invalid duration"},
		{"zero timeout", `{"models": [{"name": "a"}], "defaultModel": "a", "classifierTimeout": "0s"}`, "classifierTimeout: must be positive"},
		{"policy", `{"models": [{"name": "a"}], "defaultModel": "a", "failurePolicy": "maybe"}`, "failurePolicy"},
		{"bad family type", `{"models": [{"name": "a"}], "defaultModel": "a", "reasoningFamilies": {"x": {"type": "magic"}}}`, `reasoningFamilies["x"].type`},
		{"kwarg without parameter", `{"models": [{"name": "a"}], "defaultModel": "a", "reasoningFamilies": {"x": {"type": "chat_template_kwargs"}}}`, `reasoningFamilies["x"].parameter`},
		{"empty auto name", `{"autoModelNames": [""], "models": [{"name": "a"}], "defaultModel": "a"}`, "autoModelNames[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeParameters(json.RawMessage(tc.raw))
			if err == nil {
				t.Fatalf("DecodeParameters succeeded, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateLabels(t *testing.T) {
	p, err := DecodeParameters(json.RawMessage(validParams))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		labels  []string
		wantErr string
	}{
		{"all present", []string{"math", "computer science", "biology"}, ""},
		{"missing", []string{"math", "biology"}, `categories[1].name: "computer science" is not a classifier label`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.ValidateLabels(tc.labels)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
