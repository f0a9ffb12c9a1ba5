// Package servedmodelfilter implements the served-model-filter plugin: a
// scheduling filter that keeps only the endpoints serving the request's
// target model, so one InferencePool can span pods of several models. An
// endpoint's models come from a pod label and/or from the llm-d
// `/v1/models` data source (models-data-source + model-server-protocol-models
// extractor). See README.md.
package servedmodelfilter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/llm-d/llm-d-inference-scheduler/pkg/plugins/datalayer/models"
	"sigs.k8s.io/controller-runtime/pkg/log"
	logutil "sigs.k8s.io/gateway-api-inference-extension/pkg/common/observability/logging"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "served-model-filter"

// Sources of an endpoint's served models.
const (
	// SourceLabel reads the pod label named by labelKey.
	SourceLabel = "label"
	// SourceModels reads the model list the llm-d models extractor stores on
	// the endpoint (the model server's /v1/models).
	SourceModels = "models"
)

// DefaultLabelKey is the pod label holding the served model's name.
const DefaultLabelKey = "semantic-epp.io/model"

// ModelsAttributeKey is the endpoint attribute under which the llm-d v0.7.1
// model-server-protocol-models extractor stores models.ModelInfoCollection
// (its unexported modelsAttributeKey). A unit test runs the real extractor
// to catch a change.
const ModelsAttributeKey = "/v1/models"

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
	useLabel    bool
	useModels   bool
	labelKey    string
	keepUnknown bool
}

// Factory builds the plugin from its parameters.
func Factory(name string, raw json.RawMessage, _ fwkplugin.Handle) (fwkplugin.Plugin, error) {
	p := Parameters{}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s %q: invalid parameters: %w", Type, name, err)
		}
	}
	f, err := New(name, p)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	return f, nil
}

// New builds a filter from parameters, applying defaults.
func New(name string, p Parameters) (*Filter, error) {
	f := &Filter{typedName: fwkplugin.TypedName{Type: Type, Name: name}, labelKey: p.LabelKey, keepUnknown: p.KeepUnknown}
	if f.labelKey == "" {
		f.labelKey = DefaultLabelKey
	}
	if len(p.Sources) == 0 {
		p.Sources = []string{SourceLabel, SourceModels}
	}
	var errs []error
	for i, s := range p.Sources {
		switch s {
		case SourceLabel:
			f.useLabel = true
		case SourceModels:
			f.useModels = true
		default:
			errs = append(errs, fmt.Errorf("sources[%d]: %q is not %q or %q", i, s, SourceLabel, SourceModels))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
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
		serves, known := f.serves(ep, model)
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

// serves reports whether ep serves model and whether any enabled source had
// information about ep.
func (f *Filter) serves(ep fwksched.Endpoint, model string) (serves, known bool) {
	if f.useLabel {
		if md := ep.GetMetadata(); md != nil {
			if v, ok := md.Labels[f.labelKey]; ok {
				known = true
				if v == model {
					return true, true
				}
			}
		}
	}
	if f.useModels {
		if list, ok := servedModels(ep); ok {
			known = true
			for _, m := range list {
				if m.ID == model {
					return true, true
				}
			}
		}
	}
	return false, known
}

// servedModels reads the llm-d models attribute of an endpoint. The
// extractor stores a value; cloned endpoints (the scheduler's snapshot) hold
// the pointer its Clone returns.
func servedModels(ep fwksched.Endpoint) (models.ModelInfoCollection, bool) {
	v, ok := ep.Get(ModelsAttributeKey)
	if !ok {
		return nil, false
	}
	switch c := v.(type) {
	case models.ModelInfoCollection:
		return c, true
	case *models.ModelInfoCollection:
		if c == nil {
			return nil, false
		}
		return *c, true
	}
	return nil, false
}
