// Package domain implements the domain-signal plugin: the domain classifier
// as a signal of the selector's decisions. It classifies the prompt once per
// request and matches the top label (when its confidence reaches the
// threshold). See README.md.
package domain

import (
	"context"
	"encoding/json"
	"fmt"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	classifierplugin "github.com/semantic-epp/semantic-epp/pkg/plugins/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/internal/params"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "domain-signal"

var _ selection.Signal = &Signal{}

// Parameters are the plugin parameters.
type Parameters struct {
	// ClassifierRef names the `classifier` plugin to use (declared earlier).
	ClassifierRef string `json:"classifierRef"`
	// Threshold is the minimum confidence (0..1) for the top label to match.
	Threshold float64 `json:"threshold,omitempty"`
}

// Signal is the domain-signal plugin.
type Signal struct {
	typedName fwkplugin.TypedName
	clf       classifier.Classifier
	threshold float64
}

// Factory builds the signal.
func Factory(name string, raw json.RawMessage, h fwkplugin.Handle) (fwkplugin.Plugin, error) {
	p := Parameters{}
	if err := params.Decode(raw, &p); err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	if p.ClassifierRef == "" {
		return nil, fmt.Errorf("%s %q: classifierRef: required (the name of a classifier plugin)", Type, name)
	}
	if p.Threshold < 0 || p.Threshold > 1 {
		return nil, fmt.Errorf("%s %q: threshold: %v is outside [0, 1]", Type, name, p.Threshold)
	}
	clf, err := classifierplugin.Lookup(h, p.ClassifierRef)
	if err != nil {
		return nil, fmt.Errorf("%s %q: classifierRef: %w", Type, name, err)
	}
	return New(name, clf, p.Threshold), nil
}

// New returns a signal named name over clf.
func New(name string, clf classifier.Classifier, threshold float64) *Signal {
	return &Signal{typedName: fwkplugin.TypedName{Type: Type, Name: name}, clf: clf, threshold: threshold}
}

// TypedName returns the plugin's type and name.
func (s *Signal) TypedName() fwkplugin.TypedName { return s.typedName }

// Classifier is the classifier the signal runs (the selector reuses its
// result when it shares the classifier).
func (s *Signal) Classifier() classifier.Classifier { return s.clf }

// Labels are the classifier's labels: the names a decision leaf may match.
func (s *Signal) Labels() []string { return s.clf.Labels() }

// Evaluate classifies req.Text, or reads the classification another signal
// of the same classifier already made (selection.Request.Classify); an empty
// text matches nothing.
func (s *Signal) Evaluate(ctx context.Context, req *selection.Request) (selection.SignalResult, error) {
	if req == nil || req.Text == "" {
		return selection.SignalResult{}, nil
	}
	cl := req.Classify(ctx, s.clf)
	if cl.Err != nil {
		return selection.SignalResult{}, fmt.Errorf("%s %q: %w", Type, s.typedName.Name, cl.Err)
	}
	res := cl.Result
	out := selection.SignalResult{Label: res.Label, Confidence: res.Confidence, Scores: res.Scores,
		Truncated: res.Truncated, Duration: cl.Duration}
	if float64(res.Confidence) >= s.threshold {
		out.Matches = map[string]float32{res.Label: res.Confidence}
	}
	return out, nil
}
