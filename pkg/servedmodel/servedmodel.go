// Package servedmodel answers which models an endpoint serves, from a pod
// label and/or the model list llm-d's /v1/models extractor stores on the
// endpoint. The endpoint scheduler's served-model-filter and the model
// selector's load view read it the same way, so both agree on what a pod
// serves.
package servedmodel

import (
	"errors"
	"fmt"

	"github.com/llm-d/llm-d-inference-scheduler/pkg/plugins/datalayer/models"
	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"
)

// Sources of an endpoint's served models.
const (
	// SourceLabel reads the pod label named by the label key.
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

// Attributes is the part of an endpoint's attribute map the resolver reads;
// both the data layer's and the scheduler's endpoints provide it.
type Attributes interface {
	Get(key string) (fwkdl.Cloneable, bool)
}

// Resolver tells which models an endpoint serves.
type Resolver struct {
	useLabel  bool
	useModels bool
	labelKey  string
}

// NewResolver builds a resolver reading the given sources (both when empty)
// and label key (DefaultLabelKey when empty). Errors name the field.
func NewResolver(sources []string, labelKey string) (Resolver, error) {
	r := Resolver{labelKey: labelKey}
	if r.labelKey == "" {
		r.labelKey = DefaultLabelKey
	}
	if len(sources) == 0 {
		sources = []string{SourceLabel, SourceModels}
	}
	var errs []error
	for i, s := range sources {
		switch s {
		case SourceLabel:
			r.useLabel = true
		case SourceModels:
			r.useModels = true
		default:
			errs = append(errs, fmt.Errorf("sources[%d]: %q is not %q or %q", i, s, SourceLabel, SourceModels))
		}
	}
	return r, errors.Join(errs...)
}

// Serves reports whether the endpoint with metadata md and attributes attrs
// serves model, and whether any enabled source knew anything about it.
func (r Resolver) Serves(md *fwkdl.EndpointMetadata, attrs Attributes, model string) (serves, known bool) {
	if r.useLabel && md != nil {
		if v, ok := md.Labels[r.labelKey]; ok {
			known = true
			if v == model {
				return true, true
			}
		}
	}
	if r.useModels && attrs != nil {
		if list, ok := ModelList(attrs); ok {
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

// Models lists the models the endpoint serves by every enabled source, and
// whether any source knew anything about it.
func (r Resolver) Models(md *fwkdl.EndpointMetadata, attrs Attributes) (names []string, known bool) {
	if r.useLabel && md != nil {
		if v, ok := md.Labels[r.labelKey]; ok {
			names, known = append(names, v), true
		}
	}
	if r.useModels && attrs != nil {
		if list, ok := ModelList(attrs); ok {
			known = true
			for _, m := range list {
				names = append(names, m.ID)
			}
		}
	}
	return names, known
}

// ModelList reads the llm-d models attribute of an endpoint. The extractor
// stores a value; cloned endpoints (the scheduler's snapshot) hold the
// pointer its Clone returns.
func ModelList(attrs Attributes) (models.ModelInfoCollection, bool) {
	v, ok := attrs.Get(ModelsAttributeKey)
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
