package servedmodelfilter

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// maxModelLabels bounds the `model` label's cardinality: the target model
// comes from the client, so names beyond the first maxModelLabels distinct
// ones are counted as "other".
const maxModelLabels = 64

// otherModel is the `model` label value once maxModelLabels is reached.
const otherModel = "other"

// noEndpoint counts requests for which no endpoint serves the target model.
var noEndpoint = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "semantic_epp", Subsystem: "served_model_filter", Name: "no_endpoint_total",
	Help: "Requests rejected because no endpoint serves the target model, by model (at most 64 names, then \"other\").",
}, []string{"model"})

var (
	seenMu     sync.Mutex
	seenModels = map[string]bool{}
)

func modelLabel(model string) string {
	seenMu.Lock()
	defer seenMu.Unlock()
	if seenModels[model] {
		return model
	}
	if len(seenModels) >= maxModelLabels {
		return otherModel
	}
	seenModels[model] = true
	return model
}

// Collectors returns the filter's Prometheus collectors, for
// runner.WithCustomCollectors.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{noEndpoint}
}
