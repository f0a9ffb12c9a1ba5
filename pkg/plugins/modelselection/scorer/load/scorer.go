// Package load implements the load-model-scorer plugin: it scores candidate
// models by how much room their endpoints have (1 = idle, 0 = saturated),
// from the queue depth and KV-cache utilisation the EPP scrapes, relative to
// the saturation thresholds. See README.md.
package load

import (
	"context"
	"encoding/json"
	"fmt"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/loadparams"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "load-model-scorer"

var _ selection.ModelScorer = &Scorer{}

// Scorer is the load-model-scorer plugin.
type Scorer struct {
	typedName fwkplugin.TypedName
	view      selection.LoadView
	th        selection.Thresholds
}

// Factory builds the scorer; parameters are loadparams.Parameters.
func Factory(name string, raw json.RawMessage, h fwkplugin.Handle) (fwkplugin.Plugin, error) {
	view, th, err := loadparams.FromRaw(raw, h)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	return New(name, view, th), nil
}

// New builds a scorer reading view with thresholds th.
func New(name string, view selection.LoadView, th selection.Thresholds) *Scorer {
	return &Scorer{typedName: fwkplugin.TypedName{Type: Type, Name: name}, view: view, th: th}
}

// TypedName returns the plugin's type and name.
func (s *Scorer) TypedName() fwkplugin.TypedName { return s.typedName }

// ScoreModels scores each candidate 1 - utilisation, where utilisation is
// the larger of the mean waiting queue over the queue threshold and the mean
// KV-cache use over the KV threshold, clipped to [0, 1]. A model without
// endpoints, or with all of them saturated, scores 0.
func (s *Scorer) ScoreModels(_ context.Context, req *selection.Request, candidates []selection.Candidate) []float64 {
	scores := make([]float64, len(candidates))
	for i, c := range candidates {
		l := s.view.ModelLoad(c.Model, s.th)
		req.RecordLoad(l)
		scores[i] = Score(l, s.th)
	}
	return scores
}

// Score is the load score of one model.
func Score(l selection.ModelLoad, th selection.Thresholds) float64 {
	if l.Endpoints == 0 || l.AllSaturated() {
		return 0
	}
	queue := float64(l.WaitingRequests) / float64(l.Endpoints) / float64(th.QueueDepth)
	kv := l.KVCacheUtilization / th.KVCacheUtilization
	u := min(max(queue, kv, 0), 1)
	return 1 - u
}
