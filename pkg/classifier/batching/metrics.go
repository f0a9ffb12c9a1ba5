package batching

import "github.com/prometheus/client_golang/prometheus"

// Micro-batching metrics. Nothing is registered with the global registry:
// Collectors hands them to the EPP (runner.WithCustomCollectors) or a test.
var (
	// BatchSize observes the number of texts in each dispatched batch.
	BatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "semantic_epp_classifier", Name: "batch_size_texts",
		Help:    "Texts per micro-batch sent to the classifier backend.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
	})
	// BatchQueueWait observes how long a request waited before its batch
	// was dispatched.
	BatchQueueWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "semantic_epp_classifier", Name: "batch_queue_wait_seconds",
		Help:    "Time a classification request waited in the micro-batching queue before its batch started.",
		Buckets: []float64{0, .0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1},
	})
)

// Collectors returns the micro-batching metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{BatchSize, BatchQueueWait}
}
