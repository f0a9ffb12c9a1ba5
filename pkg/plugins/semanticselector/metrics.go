package semanticselector

import (
	"github.com/prometheus/client_golang/prometheus"
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
	// (the classifier label, "" when none was used) and chosen model.
	decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "decisions_total",
		Help: "Requests for an auto model routed by the semantic selector, by category and chosen model.",
	}, []string{"category", "model"})

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
	return []prometheus.Collector{decisions, classifierDuration, fallbacks, truncations, rejections}
}
