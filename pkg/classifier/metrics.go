package classifier

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names share this prefix; the EPP serves them on its metrics port
// next to the upstream EPP's own.
const metricsNamespace = "semantic_epp_classifier"

var (
	collectorsMu sync.Mutex
	collectors   []prometheus.Collector
)

// register adds c to the set Collectors returns and gives it back, so a
// metric is declared and listed in one statement:
//
//	var Foo = register(prometheus.NewCounter(...))
//
// Backends declare their metrics this way in their own file of this package.
func register[C prometheus.Collector](c C) C {
	collectorsMu.Lock()
	defer collectorsMu.Unlock()
	collectors = append(collectors, c)
	return c
}

// Collectors returns every Prometheus collector of the classifier packages.
// Nothing is registered with the global registry: the EPP passes these to
// runner.WithCustomCollectors, and tests or the classify CLI may register
// them with a registry of their own.
func Collectors() []prometheus.Collector {
	collectorsMu.Lock()
	defer collectorsMu.Unlock()
	return append([]prometheus.Collector(nil), collectors...)
}

// Result cache metrics (pkg/classifier/cache).
var (
	// CacheHits counts classifications answered from the result cache.
	CacheHits = register(prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "cache_hits_total",
		Help: "Classifications answered from the result cache.",
	}))
	// CacheMisses counts classifications the cache passed to the backend.
	CacheMisses = register(prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "cache_misses_total",
		Help: "Classifications not found in the result cache and passed to the backend.",
	}))
)
