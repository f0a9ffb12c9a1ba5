//go:build cgo

package similarity

import (
	"context"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

// TestEmbeddedEncoderRoutes runs vLLM Semantic Router's example routes
// (fragments/signal-embedding-support.yaml: technical_support,
// account_management) and a subject route over the embedded default, and logs
// every score: docs/model-card.md quotes them. It holds what the encoder is
// good at (a prompt of another subject scores far below a route's examples,
// a prompt of the route's subject close to them) and records, without
// holding it, what it is not: intent routes within one subject separate
// poorly.
func TestEmbeddedEncoderRoutes(t *testing.T) {
	if err := onnx.Available("", ""); err != nil {
		t.Skipf("skipped: libonnxruntime is not available (run `make onnxruntime`): %v", err)
	}
	clf, err := loader.Load(context.Background(), classifier.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = clf.Close() }()
	th := 0.0
	s, err := New(context.Background(), "sim", clf, Parameters{Routes: []Route{
		{Name: "technical_support", Threshold: &th, Examples: []string{"how to configure the system", "installation guide",
			"troubleshooting steps", "error message explanation", "setup instructions"}},
		{Name: "account_management", Threshold: &th, Examples: []string{"password reset", "account settings", "profile update",
			"subscription management", "billing information"}},
		{Name: "calculus", Threshold: &th, Examples: []string{"What is the derivative of x cubed?",
			"Compute the integral of sin(x) from 0 to pi.", "Find the limit of (1+1/n)^n as n grows."}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		min  map[string]float32 // routes it must score at least this against
		max  map[string]float32 // routes it must score at most this against
	}{
		{"What is the integral of x squared?", map[string]float32{"calculus": 0.8},
			map[string]float32{"technical_support": 0.3, "account_management": 0.3}},
		{"Which court hears appeals of federal cases?", nil,
			map[string]float32{"technical_support": 0.3, "account_management": 0.3, "calculus": 0.3}},
		{"Change the billing address on my subscription", map[string]float32{"account_management": 0.72}, map[string]float32{"calculus": 0.3}},
		{"How do I install the CLI on Ubuntu?", nil, map[string]float32{"calculus": 0.5}},
		{"I get error 502 when I start the server, what does it mean?", nil, map[string]float32{"calculus": 0.5}},
		{"I forgot my password, how can I reset it?", nil, map[string]float32{"calculus": 0.5}},
	}
	for _, tt := range tests {
		r, err := clf.Classify(context.Background(), tt.text)
		if err != nil {
			t.Fatal(err)
		}
		sc := s.scores(r.Embedding)
		t.Logf("%-62q technical_support %.3f  account_management %.3f  calculus %.3f  (domain %s)", tt.text, sc[0], sc[1], sc[2], r.Label)
		for i, rt := range s.routes {
			if lo, ok := tt.min[rt.name]; ok && sc[i] < lo {
				t.Errorf("%q: %s %.3f < %.2f", tt.text, rt.name, sc[i], lo)
			}
			if hi, ok := tt.max[rt.name]; ok && sc[i] > hi {
				t.Errorf("%q: %s %.3f > %.2f", tt.text, rt.name, sc[i], hi)
			}
		}
	}
}
