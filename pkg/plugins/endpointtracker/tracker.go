// Package endpointtracker implements the endpoint-tracker plugin: a data-layer
// extractor fed by the upstream endpoint-notification-source that keeps the
// pool's live endpoints, so model selection can read each model's load
// (waiting and running requests, KV-cache utilisation) from the metrics the
// EPP already scrapes, without a network call of its own. See README.md.
package endpointtracker

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/internal/params"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
	"github.com/semantic-epp/semantic-epp/pkg/servedmodel"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "endpoint-tracker"

var (
	_ fwkdl.EndpointExtractor = &Tracker{}
	_ selection.LoadView      = &Tracker{}
)

// Parameters are the plugin parameters: where an endpoint's served models
// are read from, as for served-model-filter.
type Parameters struct {
	// Sources lists "label", "models" or both (default both).
	Sources []string `json:"sources,omitempty"`
	// LabelKey is the pod label holding the served model (default semantic-epp.io/model).
	LabelKey string `json:"labelKey,omitempty"`
}

// Tracker keeps the live endpoints of the pool.
type Tracker struct {
	typedName fwkplugin.TypedName
	resolver  servedmodel.Resolver
	now       func() time.Time

	mu        sync.RWMutex
	endpoints map[types.NamespacedName]fwkdl.Endpoint
}

// Factory builds the plugin from its parameters.
func Factory(name string, raw json.RawMessage, _ fwkplugin.Handle) (fwkplugin.Plugin, error) {
	p := Parameters{}
	if err := params.Decode(raw, &p); err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	t, err := New(name, p)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	return t, nil
}

// New builds a tracker.
func New(name string, p Parameters) (*Tracker, error) {
	r, err := servedmodel.NewResolver(p.Sources, p.LabelKey)
	if err != nil {
		return nil, err
	}
	return &Tracker{
		typedName: fwkplugin.TypedName{Type: Type, Name: name},
		resolver:  r,
		now:       time.Now,
		endpoints: map[types.NamespacedName]fwkdl.Endpoint{},
	}, nil
}

// TypedName returns the plugin's type and name.
func (t *Tracker) TypedName() fwkplugin.TypedName { return t.typedName }

// ExpectedInputType is the endpoint-notification-source's output.
func (t *Tracker) ExpectedInputType() reflect.Type { return fwkdl.EndpointEventReflectType }

// Extract is not used: the tracker is fed endpoint lifecycle events only.
func (t *Tracker) Extract(context.Context, any, fwkdl.Endpoint) error { return nil }

// ExtractEndpoint records an endpoint added to, or removed from, the datastore.
// The endpoint object is the datastore's own, whose metrics the collector
// keeps updating, so the tracker always reads the latest scrape.
func (t *Tracker) ExtractEndpoint(_ context.Context, ev fwkdl.EndpointEvent) error {
	if ev.Endpoint == nil || ev.Endpoint.GetMetadata() == nil {
		return nil
	}
	key := ev.Endpoint.GetMetadata().NamespacedName
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev.Type {
	case fwkdl.EventDelete:
		delete(t.endpoints, key)
	default:
		t.endpoints[key] = ev.Endpoint
	}
	return nil
}

// Len returns the number of tracked endpoints.
func (t *Tracker) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.endpoints)
}

// ModelLoad sums the load of the endpoints serving model. An endpoint whose
// metrics are older than th.MetricsStaleness, or over a threshold, counts as
// saturated, as the upstream utilization saturation detector judges it.
func (t *Tracker) ModelLoad(model string, th selection.Thresholds) selection.ModelLoad {
	load := selection.ModelLoad{Model: model}
	now := t.now()
	var kvSum float64
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, ep := range t.endpoints {
		if serves, _ := t.resolver.Serves(ep.GetMetadata(), ep.GetAttributes(), model); !serves {
			continue
		}
		load.Endpoints++
		m := ep.GetMetrics()
		if m == nil {
			load.Saturated++
			continue
		}
		load.WaitingRequests += m.WaitingQueueSize
		load.RunningRequests += m.RunningRequestsSize
		kvSum += m.KVCacheUsagePercent
		stale := m.UpdateTime.IsZero() || (th.MetricsStaleness > 0 && now.Sub(m.UpdateTime) > th.MetricsStaleness)
		if stale || m.WaitingQueueSize >= th.QueueDepth || m.KVCacheUsagePercent >= th.KVCacheUtilization {
			load.Saturated++
		}
	}
	if load.Endpoints > 0 {
		load.KVCacheUtilization = kvSum / float64(load.Endpoints)
	}
	return load
}

// Lookup returns the tracker named name from the plugin handle.
func Lookup(h fwkplugin.Handle, name string) (*Tracker, error) {
	if h == nil {
		return nil, fmt.Errorf("no plugin handle to look up %s %q", Type, name)
	}
	t, err := fwkplugin.PluginByType[*Tracker](h, name)
	if err != nil {
		return nil, fmt.Errorf("%w (declare a %s plugin named %q before the plugins that use it)", err, Type, name)
	}
	return t, nil
}

// ServedModels returns the models the tracked endpoints serve and whether
// every endpoint's models are known (an endpoint without a label or a
// /v1/models answer yet leaves the set incomplete).
func (t *Tracker) ServedModels() (models map[string]bool, complete bool) {
	models = map[string]bool{}
	complete = true
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, ep := range t.endpoints {
		names, known := t.resolver.Models(ep.GetMetadata(), ep.GetAttributes())
		if !known {
			complete = false
		}
		for _, n := range names {
			models[n] = true
		}
	}
	return models, complete
}
