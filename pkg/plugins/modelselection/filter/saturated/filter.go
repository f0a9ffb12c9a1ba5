// Package saturated implements the saturated-model-filter plugin: a model
// filter that passes over candidate models whose every endpoint is saturated,
// so an auto request falls back to the next-ranked model of its category
// while the first choice's pods are full. See README.md.
package saturated

import (
	"context"
	"encoding/json"
	"fmt"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/loadparams"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "saturated-model-filter"

var _ selection.ModelFilter = &Filter{}

// Filter is the saturated-model-filter plugin.
type Filter struct {
	typedName fwkplugin.TypedName
	view      selection.LoadView
	th        selection.Thresholds
}

// Factory builds the filter; parameters are loadparams.Parameters.
func Factory(name string, raw json.RawMessage, h fwkplugin.Handle) (fwkplugin.Plugin, error) {
	view, th, err := loadparams.FromRaw(raw, h)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	return New(name, view, th), nil
}

// New builds a filter reading view with thresholds th.
func New(name string, view selection.LoadView, th selection.Thresholds) *Filter {
	return &Filter{typedName: fwkplugin.TypedName{Type: Type, Name: name}, view: view, th: th}
}

// TypedName returns the plugin's type and name.
func (f *Filter) TypedName() fwkplugin.TypedName { return f.typedName }

// FilterModels keeps the candidates with at least one endpoint that is not
// saturated, and records every load it read on req. When every candidate is
// saturated it keeps those that have endpoints at all: the first choice
// stands (the upstream saturation handling decides) unless it has no
// endpoint left, which would fail the request for certain.
func (f *Filter) FilterModels(_ context.Context, req *selection.Request, candidates []selection.Candidate) []selection.Candidate {
	kept := make([]selection.Candidate, 0, len(candidates))
	var present []selection.Candidate
	for _, c := range candidates {
		l := f.view.ModelLoad(c.Model, f.th)
		req.RecordLoad(l)
		if !l.AllSaturated() {
			kept = append(kept, c)
		}
		if l.Endpoints > 0 {
			present = append(present, c)
		}
	}
	if len(kept) == 0 {
		return present
	}
	return kept
}
