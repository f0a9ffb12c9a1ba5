package cache

import "github.com/prometheus/client_golang/prometheus"

// Result cache metrics. Nothing is registered with the global registry:
// Collectors hands them to the EPP (runner.WithCustomCollectors) or a test.
var (
	// Hits counts classifications answered from the result cache.
	Hits = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "semantic_epp_classifier", Name: "cache_hits_total",
		Help: "Classifications answered from the result cache.",
	})
	// Misses counts classifications the cache passed to the backend.
	Misses = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "semantic_epp_classifier", Name: "cache_misses_total",
		Help: "Classifications not found in the result cache and passed to the backend.",
	})
)

// Collectors returns the result cache metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{Hits, Misses}
}
