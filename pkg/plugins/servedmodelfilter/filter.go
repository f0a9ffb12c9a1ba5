// Package servedmodelfilter implements the served-model-filter plugin: a
// scheduling filter that keeps only the endpoints serving the request's
// target model, so one InferencePool can span pods of several models. An
// endpoint's models come from a pod label and/or from the llm-d
// `/v1/models` data source (models-data-source + model-server-protocol-models
// extractor). See README.md.
package servedmodelfilter

import (
	"context"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/log"
	logutil "sigs.k8s.io/gateway-api-inference-extension/pkg/common/observability/logging"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/internal/params"
	"github.com/semantic-epp/semantic-epp/pkg/servedmodel"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "served-model-filter"

// Sources of an endpoint's served models (see package servedmodel).
const (
	SourceLabel  = servedmodel.SourceLabel
	SourceModels = servedmodel.SourceModels
)

// DefaultLabelKey is the pod label holding the served model's name.
const DefaultLabelKey = servedmodel.DefaultLabelKey

// ModelsAttributeKey is the endpoint attribute holding llm-d's /v1/models list.
const ModelsAttributeKey = servedmodel.ModelsAttributeKey

var _ fwksched.Filter = &Filter{}

// Parameters are the plugin parameters.
type Parameters struct {
	// Sources lists where served models are read from: "label", "models" or
	// both (default both). An endpoint passes when any source lists the model.
	Sources []string `json:"sources,omitempty"`
	// LabelKey is the pod label key for the label source.
	LabelKey string `json:"labelKey,omitempty"`
	// KeepUnknown keeps endpoints for which no enabled source has any
	// information (no label, no /v1/models data yet). Default false.
	KeepUnknown bool `json:"keepUnknown,omitempty"`
}

// Filter is the served-model-filter plugin.
type Filter struct {
	typedName   fwkplugin.TypedName
	resolver    servedmodel.Resolver
	keepUnknown bool
}

// Factory builds the plugin from its parameters.
func Factory(name string, raw json.RawMessage, _ fwkplugin.Handle) (fwkplugin.Plugin, error) {
	p := Parameters{}
	if err := params.Decode(raw, &p); err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	f, err := New(name, p)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	return f, nil
}

// New builds a filter from parameters, applying defaults.
func New(name string, p Parameters) (*Filter, error) {
	r, err := servedmodel.NewResolver(p.Sources, p.LabelKey)
	if err != nil {
		return nil, err
	}
	return &Filter{typedName: fwkplugin.TypedName{Type: Type, Name: name}, resolver: r, keepUnknown: p.KeepUnknown}, nil
}

// TypedName returns the plugin's type and name.
func (f *Filter) TypedName() fwkplugin.TypedName { return f.typedName }

// Filter keeps the endpoints that serve request.TargetModel. A request
// without a target model keeps every endpoint. When none is left the
// rejection is logged and counted by model; the scheduler then fails the
// request (see README.md for the HTTP status).
func (f *Filter) Filter(ctx context.Context, cycleState *fwksched.CycleState, request *fwksched.LLMRequest, endpoints []fwksched.Endpoint) []fwksched.Endpoint {
	if request == nil || request.TargetModel == "" {
		return endpoints
	}
	model := request.TargetModel
	kept := make([]fwksched.Endpoint, 0, len(endpoints))
	for _, ep := range endpoints {
		serves, known := f.resolver.Serves(ep.GetMetadata(), ep, model)
		if serves || (!known && f.keepUnknown) {
			kept = append(kept, ep)
		}
	}
	logger := log.FromContext(ctx)
	if len(kept) == 0 {
		noEndpoint.WithLabelValues(modelLabel(model)).Inc()
		if cycleState != nil {
			cycleState.Write(noEndpointKey, &noEndpointState{model: model})
		}
		logger.Info("No endpoint serves the requested model", "model", model, "candidates", len(endpoints))
		return kept
	}
	logger.V(logutil.DEBUG).Info("Endpoints serving the model", "model", model, "kept", len(kept), "candidates", len(endpoints))
	return kept
}
