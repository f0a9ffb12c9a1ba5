package semanticselector

import (
	"context"
	"sync/atomic"
	"testing"

	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/domain"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/similarity"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

// countingClassifier counts the calls into a real classifier.
type countingClassifier struct {
	classifier.Classifier
	calls atomic.Int64
}

func (c *countingClassifier) Classify(ctx context.Context, text string) (classifier.Result, error) {
	c.calls.Add(1)
	return c.Classifier.Classify(ctx, text)
}

func (c *countingClassifier) EmbeddingDim() int { return classifier.EmbeddingDimOf(c.Classifier) }

// TestOneClassificationPerRequest: when no decision holds, the categories
// read the domain signal's result of the shared classifier instead of
// classifying again.
func TestOneClassificationPerRequest(t *testing.T) {
	clf := &countingClassifier{Classifier: realClassifier(t)}
	p := paramsFor(t, []string{"math"}, `,"signals":["domain"],"decisions":[{"name":"law","rules":{"operator":"OR",`+
		`"conditions":[{"signal":"domain","name":"law"}]},"models":[{"model":"fallback"}]}]`)
	s, err := New("sel", p, clf)
	if err != nil {
		t.Fatal(err)
	}
	sig := domain.New("domain", clf, 0)
	set, err := decision.Compile(p.Decisions)
	if err != nil {
		t.Fatal(err)
	}
	s.signals, s.decisions = []selection.Signal{sig}, set
	headers := chatHeaders()
	parsed, err := s.ParseRequest(context.Background(), chatBody("auto", "What is the integral of x squared?"), headers)
	if err != nil {
		t.Fatal(err)
	}
	if m := parsed.Payload.(fwksched.PayloadMap)["model"]; m != "m-math" || headers[HeaderSelectionReason] != SelectCategory {
		t.Errorf("model %v reason %q, want m-math by category", m, headers[HeaderSelectionReason])
	}
	if n := clf.calls.Load(); n != 1 {
		t.Errorf("classified %d times, want once", n)
	}
}

// TestOneEncoderPassForDomainAndSimilarity: a domain and a similarity signal
// over the default classifier (whose graph yields the embedding with the
// logits) classify each request once, whether a decision holds (similarity
// or domain leaf) or the categories decide.
func TestOneEncoderPassForDomainAndSimilarity(t *testing.T) {
	if err := onnx.Available("", ""); err != nil {
		t.Skipf("skipped: libonnxruntime is not available (run `make onnxruntime`), so the default classifier has no embedding: %v", err)
	}
	base, err := loader.Load(context.Background(), classifier.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = base.Close() }()
	clf := &countingClassifier{Classifier: base}
	threshold := 0.8
	sim, err := similarity.New(context.Background(), "similarity", clf, similarity.Parameters{Routes: []similarity.Route{{
		Name: "calculus", Threshold: &threshold,
		Examples: []string{"What is the derivative of x cubed?", "Compute the integral of sin(x) from 0 to pi.",
			"Find the limit of (1+1/n)^n as n grows."},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	hist := "What were the main causes of the French Revolution of 1789?"
	r, err := base.Classify(context.Background(), hist)
	if err != nil {
		t.Fatal(err)
	}
	p := paramsFor(t, base.Labels(), `,"signals":["domain","similarity"],"decisions":[`+
		`{"name":"calculus","rules":{"signal":"similarity","name":"calculus"},"models":[{"model":"thinker"}]},`+
		`{"name":"law","rules":{"signal":"domain","name":"law"},"models":[{"model":"oss"}]}]`)
	s, err := New("sel", p, clf)
	if err != nil {
		t.Fatal(err)
	}
	set, err := decision.Compile(p.Decisions)
	if err != nil {
		t.Fatal(err)
	}
	s.signals, s.decisions = []selection.Signal{domain.New("domain", clf, 0), sim}, set
	tests := []struct {
		text, model, reason string
	}{
		{"What is the integral of x squared from 0 to 3?", "thinker", SelectDecision},
		{"A plaintiff sues for breach of contract; which defence is the strongest?", "oss", SelectDecision},
		{hist, "m-" + r.Label, SelectCategory},
	}
	for _, tt := range tests {
		clf.calls.Store(0)
		headers := chatHeaders()
		parsed, err := s.ParseRequest(context.Background(), chatBody("auto", tt.text), headers)
		if err != nil {
			t.Fatal(err)
		}
		if m := parsed.Payload.(fwksched.PayloadMap)["model"]; m != tt.model || headers[HeaderSelectionReason] != tt.reason {
			t.Errorf("%q: model %v reason %q (category %s), want %s by %s", tt.text, m, headers[HeaderSelectionReason], headers[HeaderCategory], tt.model, tt.reason)
		}
		if n := clf.calls.Load(); n != 1 {
			t.Errorf("%q: classified %d times, want once", tt.text, n)
		}
	}
}
