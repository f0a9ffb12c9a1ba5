// Package loadparams holds the parameters shared by the model-selection
// plugins that read endpoint load (saturated-model-filter, load-model-scorer):
// which endpoint-tracker to read and when an endpoint counts as saturated.
// Defaults are those of the upstream utilization saturation detector.
package loadparams

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/endpointtracker"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/internal/params"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Defaults, as GIE v1.5.0's utilization saturation detector's.
const (
	DefaultTrackerRef                = endpointtracker.Type
	DefaultQueueDepthThreshold       = 5
	DefaultKVCacheUtilThreshold      = 0.8
	DefaultMetricsStalenessThreshold = 200 * time.Millisecond
)

// Parameters say where load is read and when an endpoint is saturated.
type Parameters struct {
	// TrackerRef names the endpoint-tracker plugin (default "endpoint-tracker").
	TrackerRef string `json:"trackerRef,omitempty"`
	// QueueDepthThreshold: waiting requests at or above which an endpoint is saturated.
	QueueDepthThreshold *int `json:"queueDepthThreshold,omitempty"`
	// KVCacheUtilThreshold: KV-cache utilisation (0..1] at or above which an endpoint is saturated.
	KVCacheUtilThreshold *float64 `json:"kvCacheUtilThreshold,omitempty"`
	// MetricsStalenessThreshold: metrics older than this count as saturated.
	MetricsStalenessThreshold *metav1.Duration `json:"metricsStalenessThreshold,omitempty"`
}

// Decode reads raw strictly (unknown fields are errors) into p.
func Decode(raw json.RawMessage, p any) error { return params.Decode(raw, p) }

// FromRaw decodes Parameters from raw, applies the defaults, validates and
// looks the tracker up: the whole factory step of a load-reading plugin.
func FromRaw(raw json.RawMessage, h fwkplugin.Handle) (selection.LoadView, selection.Thresholds, error) {
	p := Parameters{}
	if err := Decode(raw, &p); err != nil {
		return nil, selection.Thresholds{}, err
	}
	return p.Resolve(h)
}

// Resolve applies the defaults, validates, and looks the tracker up.
func (p *Parameters) Resolve(h fwkplugin.Handle) (selection.LoadView, selection.Thresholds, error) {
	th, err := p.Thresholds()
	if err != nil {
		return nil, th, err
	}
	t, err := endpointtracker.Lookup(h, p.TrackerRef)
	if err != nil {
		return nil, th, fmt.Errorf("trackerRef: %w", err)
	}
	return t, th, nil
}

// Thresholds applies the defaults and validates.
func (p *Parameters) Thresholds() (selection.Thresholds, error) {
	if p.TrackerRef == "" {
		p.TrackerRef = DefaultTrackerRef
	}
	th := selection.Thresholds{
		QueueDepth:         DefaultQueueDepthThreshold,
		KVCacheUtilization: DefaultKVCacheUtilThreshold,
		MetricsStaleness:   DefaultMetricsStalenessThreshold,
	}
	if p.QueueDepthThreshold != nil {
		th.QueueDepth = *p.QueueDepthThreshold
	}
	if p.KVCacheUtilThreshold != nil {
		th.KVCacheUtilization = *p.KVCacheUtilThreshold
	}
	if p.MetricsStalenessThreshold != nil {
		th.MetricsStaleness = p.MetricsStalenessThreshold.Duration
	}
	var errs []error
	if th.QueueDepth < 1 {
		errs = append(errs, fmt.Errorf("queueDepthThreshold: %d must be at least 1", th.QueueDepth))
	}
	if th.KVCacheUtilization <= 0 || th.KVCacheUtilization > 1 {
		errs = append(errs, fmt.Errorf("kvCacheUtilThreshold: %v is outside (0, 1]", th.KVCacheUtilization))
	}
	if th.MetricsStaleness <= 0 {
		errs = append(errs, fmt.Errorf("metricsStalenessThreshold: %v must be positive", th.MetricsStaleness))
	}
	return th, errors.Join(errs...)
}
