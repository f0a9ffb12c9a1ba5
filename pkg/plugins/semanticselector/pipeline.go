package semanticselector

import (
	"context"
	"fmt"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/scorer/rank"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Selection reasons: the x-selection-reason header and the `reason` label
// of the decisions metric.
const (
	// SelectCategory: the category's first choice.
	SelectCategory = "category"
	// SelectSaturationFallback: the first choice's endpoints were all
	// saturated; a lower-ranked model of the category was chosen.
	SelectSaturationFallback = "saturation_fallback"
	// SelectAllSaturated: every candidate was saturated; the first choice
	// stands and the upstream saturation handling decides.
	SelectAllSaturated = "all_saturated"
	// SelectExplicit: the request named a model; it passed through.
	SelectExplicit = "explicit"
	// selectDefaultPrefix prefixes a fallback reason (default_low_confidence, ...).
	selectDefaultPrefix = "default_"
)

// Pipeline configures model selection after the category is known: model
// filters, then weighted model scorers, each a plugin named by pluginRef.
// Without it the rank scorer alone decides (the category's order and
// weights).
type Pipeline struct {
	Filters []PluginRef `json:"filters,omitempty"`
	Scorers []PluginRef `json:"scorers,omitempty"`
}

// PluginRef names a model filter or scorer plugin and, for scorers, its weight.
type PluginRef struct {
	PluginRef string `json:"pluginRef"`
	// Weight multiplies a scorer's scores (default 1).
	Weight *float64 `json:"weight,omitempty"`
}

type weightedScorer struct {
	scorer selection.ModelScorer
	weight float64
}

// pipeline is the resolved model-selection stage.
type pipeline struct {
	filters []selection.ModelFilter
	scorers []weightedScorer
}

// defaultPipeline ranks by the category list only: today's behaviour.
func defaultPipeline() pipeline {
	return pipeline{scorers: []weightedScorer{{scorer: rank.New("implicit-rank"), weight: 1}}}
}

// resolvePipeline looks the configured plugins up through the handle.
func resolvePipeline(h fwkplugin.Handle, cfg *Pipeline) (pipeline, error) {
	if cfg == nil {
		return defaultPipeline(), nil
	}
	if h == nil {
		return pipeline{}, fmt.Errorf("selection: no plugin handle to resolve plugin references")
	}
	var p pipeline
	for i, ref := range cfg.Filters {
		f, err := fwkplugin.PluginByType[selection.ModelFilter](h, ref.PluginRef)
		if err != nil {
			return pipeline{}, fmt.Errorf("selection.filters[%d]: %w", i, err)
		}
		p.filters = append(p.filters, f)
	}
	for i, ref := range cfg.Scorers {
		s, err := fwkplugin.PluginByType[selection.ModelScorer](h, ref.PluginRef)
		if err != nil {
			return pipeline{}, fmt.Errorf("selection.scorers[%d]: %w", i, err)
		}
		w := 1.0
		if ref.Weight != nil {
			w = *ref.Weight
		}
		p.scorers = append(p.scorers, weightedScorer{scorer: s, weight: w})
	}
	if len(p.scorers) == 0 {
		p.scorers = defaultPipeline().scorers
	}
	return p, nil
}

// candidates orders a category's models for one request: the first choice
// (drawn by weight when the list is weighted, else the first entry), then
// the others in list order, up to maxFallbackRank.
func candidates(route []CategoryModel, maxFallbackRank int, random func() float64) []selection.Candidate {
	first := pickIndex(route, random)
	out := make([]selection.Candidate, 0, min(len(route), maxFallbackRank+1))
	add := func(cm CategoryModel) {
		out = append(out, selection.Candidate{Model: cm.Model, Rank: len(out), Weight: cm.Weight, Reasoning: cm.Reasoning})
	}
	add(route[first])
	for i, cm := range route {
		if len(out) > maxFallbackRank {
			break
		}
		if i != first {
			add(cm)
		}
	}
	return out
}

// run filters and scores the candidates and returns the chosen one. A filter
// that leaves nothing is overruled, so selection never fails a request.
func (p pipeline) run(ctx context.Context, req *selection.Request, cands []selection.Candidate) selection.Candidate {
	for _, f := range p.filters {
		if kept := f.FilterModels(ctx, req, cands); len(kept) > 0 {
			cands = kept
		}
	}
	if len(cands) == 1 {
		return cands[0]
	}
	total := make([]float64, len(cands))
	for _, ws := range p.scorers {
		for i, s := range ws.scorer.ScoreModels(ctx, req, cands) {
			if i < len(total) {
				total[i] += ws.weight * s
			}
		}
	}
	best := 0
	for i := range cands {
		if total[i] > total[best] || (total[i] == total[best] && cands[i].Rank < cands[best].Rank) {
			best = i
		}
	}
	return cands[best]
}
