package semanticselector

import (
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Metric label values for fallback reasons (label `reason`).
const (
	ReasonNoText            = "no_text"
	ReasonLowConfidence     = "low_confidence"
	ReasonUnmappedCategory  = "unmapped_category"
	ReasonClassifierError   = "classifier_error"
	ReasonClassifierTimeout = "classifier_timeout"
)

// Classifier call outcomes (label `outcome` of the latency histogram).
const (
	outcomeOK      = "ok"
	outcomeError   = "error"
	outcomeTimeout = "timeout"
)

const (
	metricsNamespace = "semantic_epp"
	metricsSubsystem = "selector"
)

var (
	// decisions counts requests whose model the selector chose, by category
	// (the classifier label, "" when none was used), chosen model and reason.
	decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "decisions_total",
		Help: "Requests for an auto model routed by the semantic selector, by category (\"\" when none applied), " +
			"chosen model and reason (category, saturation_fallback, all_saturated, default_<fallback reason>).",
	}, []string{"category", "model", "reason"})

	// unknownModels counts explicit requests rejected for a model nothing serves.
	unknownModels = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "unknown_models_total",
		Help: "Requests naming a model that the config does not declare and no endpoint of the pool serves (answered 400 model_not_found).",
	})

	// saturationFallbacks counts auto requests moved off their first choice
	// because its endpoints were saturated.
	saturationFallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "saturation_fallbacks_total",
		Help: "Auto requests moved off their category's first choice (from_model) to a lower-ranked model (to_model) because every endpoint of the first choice was saturated.",
	}, []string{"from_model", "to_model"})

	// The load of each candidate model as the last decision that read it saw it.
	modelWaiting = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "model_waiting_requests",
		Help: "Waiting requests summed over the endpoints serving a model (label model), as the selector last saw them.",
	}, []string{"model"})
	modelRunning = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "model_running_requests",
		Help: "Running requests summed over the endpoints serving a model (label model), as the selector last saw them.",
	}, []string{"model"})
	modelKVCache = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "model_kv_cache_utilization",
		Help: "Mean KV-cache utilisation (0..1) of the endpoints serving a model (label model), as the selector last saw it.",
	}, []string{"model"})
	modelSaturated = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "model_saturated_endpoints",
		Help: "Saturated endpoints among those serving a model (label model), as the selector last saw them.",
	}, []string{"model"})
	modelEndpoints = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "model_endpoints",
		Help: "Endpoints serving a model (label model), as the selector last saw them.",
	}, []string{"model"})

	// classifierDuration observes each classifier call.
	classifierDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "classifier_duration_seconds",
		Help:    "Latency of the classifier call made by the semantic selector, by outcome (ok, error, timeout).",
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
	}, []string{"outcome"})

	// fallbacks counts requests sent to defaultModel (or rejected when
	// fail-closed) instead of a category's model, by reason.
	fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "fallbacks_total",
		Help: "Auto requests not routed by category, by reason (no_text, low_confidence, unmapped_category, classifier_error, classifier_timeout).",
	}, []string{"reason"})

	// truncations counts prompts longer than the classifier's input limit,
	// of which only a head+tail window was classified.
	truncations = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "truncations_total",
		Help: "Prompts longer than the classifier input limit; only a head+tail window was classified.",
	})

	// rejections counts requests rejected because the classifier failed and
	// failurePolicy is closed, by reason.
	rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "rejections_total",
		Help: "Auto requests rejected because the classifier failed and failurePolicy is closed, by reason.",
	}, []string{"reason"})
)

// Collectors returns the selector's Prometheus collectors. They are not
// registered anywhere: cmd/epp passes them to runner.WithCustomCollectors.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{decisions, classifierDuration, fallbacks, truncations, rejections,
		saturationFallbacks, unknownModels, modelWaiting, modelRunning, modelKVCache, modelSaturated, modelEndpoints}
}

// recordDecision counts a decision and the loads it saw.
func recordDecision(d choice) {
	category := ""
	if d.category {
		category = d.label
	}
	decisions.WithLabelValues(category, d.model, d.reason).Inc()
	if d.reason == SelectSaturationFallback {
		saturationFallbacks.WithLabelValues(d.firstModel, d.model).Inc()
	}
	if d.req == nil {
		return
	}
	for model, l := range d.req.Loads {
		modelWaiting.WithLabelValues(model).Set(float64(l.WaitingRequests))
		modelRunning.WithLabelValues(model).Set(float64(l.RunningRequests))
		modelKVCache.WithLabelValues(model).Set(l.KVCacheUtilization)
		modelSaturated.WithLabelValues(model).Set(float64(l.Saturated))
		modelEndpoints.WithLabelValues(model).Set(float64(l.Endpoints))
	}
}

// loadsForLog renders the loads a decision saw for the verbose log line.
func loadsForLog(req *selection.Request) []string {
	if req == nil {
		return nil
	}
	out := make([]string, 0, len(req.Loads))
	for m, l := range req.Loads {
		out = append(out, fmt.Sprintf("%s: endpoints=%d saturated=%d waiting=%d running=%d kv=%.2f",
			m, l.Endpoints, l.Saturated, l.WaitingRequests, l.RunningRequests, l.KVCacheUtilization))
	}
	sort.Strings(out)
	return out
}
