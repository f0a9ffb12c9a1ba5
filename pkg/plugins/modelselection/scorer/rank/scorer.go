// Package rank implements the rank-model-scorer plugin: it scores candidate
// models by their position in the decision's ranked list (the first choice
// scores 1, the last 1/n), which is how models were chosen before load-aware
// selection. Weighted lists are drawn by the selector before scoring, so the
// drawn model is rank 0. See README.md.
package rank

import (
	"context"
	"encoding/json"
	"fmt"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/loadparams"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "rank-model-scorer"

var _ selection.ModelScorer = &Scorer{}

// Scorer is the rank-model-scorer plugin.
type Scorer struct{ typedName fwkplugin.TypedName }

// Factory builds the scorer; it takes no parameters.
func Factory(name string, raw json.RawMessage, _ fwkplugin.Handle) (fwkplugin.Plugin, error) {
	var p struct{}
	if err := loadparams.Decode(raw, &p); err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	return New(name), nil
}

// New returns a scorer named name.
func New(name string) *Scorer { return &Scorer{typedName: fwkplugin.TypedName{Type: Type, Name: name}} }

// TypedName returns the plugin's type and name.
func (s *Scorer) TypedName() fwkplugin.TypedName { return s.typedName }

// ScoreModels scores rank r of n ranks as (n-r)/n.
func (s *Scorer) ScoreModels(_ context.Context, _ *selection.Request, candidates []selection.Candidate) []float64 {
	n := 0
	for _, c := range candidates {
		n = max(n, c.Rank+1)
	}
	scores := make([]float64, len(candidates))
	for i, c := range candidates {
		scores[i] = float64(n-c.Rank) / float64(n)
	}
	return scores
}
