package semanticselector

import (
	"context"
	"sync/atomic"
	"testing"

	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/domain"
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
