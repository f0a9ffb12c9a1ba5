package domain

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
	classifierplugin "github.com/semantic-epp/semantic-epp/pkg/plugins/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// counting counts the calls into the embedded linear model and can fail.
type counting struct {
	classifier.Classifier
	calls int
	err   error
}

func (c *counting) Classify(ctx context.Context, text string) (classifier.Result, error) {
	c.calls++
	if c.err != nil {
		return classifier.Result{}, c.err
	}
	return c.Classifier.Classify(ctx, text)
}

func linearModel(t *testing.T) *counting {
	t.Helper()
	m, err := linear.LoadDir(classifier.EmbeddedModel)
	if err != nil {
		t.Fatal(err)
	}
	return &counting{Classifier: m}
}

func TestFactory(t *testing.T) {
	h := fwkplugin.NewEppHandle(context.Background(), nil)
	lin := linearModel(t)
	p, err := classifierplugin.NewFactory(func(context.Context, classifier.Config) (classifier.Classifier, error) {
		return lin, nil
	})("base", nil, h)
	if err != nil {
		t.Fatal(err)
	}
	h.AddPlugin("base", p)
	tests := []struct {
		name, raw, wantErr string
	}{
		{"valid", `{"classifierRef":"base","threshold":0.5}`, ""},
		{"no classifierRef", `{"threshold":0.5}`, "classifierRef: required"},
		{"threshold above 1", `{"classifierRef":"base","threshold":2}`, "threshold: 2 is outside [0, 1]"},
		{"unknown field", `{"classifierRef":"base","labels":[]}`, `unknown field "labels"`},
		{"unknown classifier", `{"classifierRef":"other"}`, `classifierRef: classifier "other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Factory("domain", json.RawMessage(tt.raw), h)
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `domain-signal "domain"`)) {
				t.Fatalf("error %v, want it to name the plugin and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	const math = "What is the integral of 2x from 0 to 3?"
	tests := []struct {
		name      string
		text      string
		threshold float64
		wantMatch bool
	}{
		{"top label matches", math, 0, true},
		{"below the threshold", math, 1, false},
		{"no text", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("domain", linearModel(t), tt.threshold)
			res, err := s.Evaluate(context.Background(), &selection.Request{Text: tt.text})
			if err != nil {
				t.Fatal(err)
			}
			if tt.text != "" && (res.Label != "math" || len(res.Scores) != len(s.Labels())) {
				t.Errorf("label %q with %d scores, want math with %d", res.Label, len(res.Scores), len(s.Labels()))
			}
			if got := res.Matched("math"); got != tt.wantMatch {
				t.Errorf("matched math %v, want %v", got, tt.wantMatch)
			}
		})
	}
}

// TestSharedClassification: two signals of one classifier on one request
// classify once; a failure is the signal's error, wrapped.
func TestSharedClassification(t *testing.T) {
	c := linearModel(t)
	a, b := New("a", c, 0), New("b", c, 0)
	req := &selection.Request{Text: "Which court hears appeals?"}
	ra, err := a.Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Evaluate(context.Background(), req)
	if err != nil || rb.Label != ra.Label || rb.Confidence != ra.Confidence {
		t.Fatalf("second signal %+v, %v; want the first's %+v", rb, err, ra)
	}
	if c.calls != 1 {
		t.Errorf("classified %d times, want once", c.calls)
	}
	boom := errors.New("boom")
	c.err = boom
	if _, err := a.Evaluate(context.Background(), &selection.Request{Text: "x"}); !errors.Is(err, boom) || !strings.Contains(err.Error(), `domain-signal "a"`) {
		t.Errorf("failure: %v", err)
	}
}
