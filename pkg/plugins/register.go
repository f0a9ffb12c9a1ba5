// Package plugins lists every plugin the semantic-epp binary offers beyond
// the upstream EPP's own (which the runner registers itself): the llm-d
// v0.7.1 plugins that compile against GIE v1.5.0 and ours. It is the one
// place that answers "what can I put in my config?".
package plugins

import (
	"github.com/llm-d/llm-d-inference-scheduler/pkg/plugins/datalayer/models"
	"github.com/llm-d/llm-d-inference-scheduler/pkg/plugins/filter"
	prerequest "github.com/llm-d/llm-d-inference-scheduler/pkg/plugins/pre-request"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/batching"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/cache"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/ensemble"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
	classifierplugin "github.com/semantic-epp/semantic-epp/pkg/plugins/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/endpointtracker"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/filter/saturated"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/scorer/load"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/scorer/rank"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/semanticselector"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/servedmodelfilter"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/domain"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/keyword"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/similarity"
)

// RegisterAll registers the factories of the llm-d plugins and ours. Call it
// before the runner loads its configuration.
func RegisterAll() {
	// llm-d v0.7.1: filters.
	plugin.Register(filter.ByLabelType, filter.ByLabelFactory)
	plugin.Register(filter.ByLabelSelectorType, filter.ByLabelSelectorFactory)
	plugin.Register(filter.EncodeRoleType, filter.EncodeRoleFactory)
	plugin.Register(filter.DecodeRoleType, filter.DecodeRoleFactory)
	plugin.Register(filter.PrefillRoleType, filter.PrefillRoleFactory)
	// llm-d v0.7.1: pre-request (the legacy alias keeps older configs working).
	plugin.Register(prerequest.DisaggHeadersHandlerType, prerequest.DisaggHeadersHandlerFactory)
	plugin.Register(prerequest.PrefillHeaderHandlerType, prerequest.DisaggHeadersHandlerFactory) //nolint:staticcheck // deprecated alias kept on purpose
	// llm-d v0.7.1: the model server's /v1/models as an endpoint attribute.
	plugin.Register(models.ModelsDataSourceType, models.ModelDataSourceFactory)
	plugin.Register(models.ModelsExtractorType, models.ModelServerExtractorFactory)
	// semantic-epp.
	plugin.Register(classifierplugin.Type, classifierplugin.Factory)
	plugin.Register(semanticselector.Type, semanticselector.NewFactory(loader.Load))
	plugin.Register(servedmodelfilter.Type, servedmodelfilter.Factory)
	plugin.Register(servedmodelfilter.ProfileHandlerType, servedmodelfilter.ProfileHandlerFactory)
	// semantic-epp: model selection (the selector's selection stage) and the
	// endpoint view it reads load from.
	plugin.Register(endpointtracker.Type, endpointtracker.Factory)
	plugin.Register(saturated.Type, saturated.Factory)
	plugin.Register(rank.Type, rank.Factory)
	plugin.Register(load.Type, load.Factory)
	plugin.Register(keyword.Type, keyword.Factory)
	plugin.Register(domain.Type, domain.Factory)
	plugin.Register(similarity.Type, similarity.Factory)
}

// Collectors returns the Prometheus collectors of our plugins and of the
// classifier, for runner.WithCustomCollectors.
func Collectors() []prometheus.Collector {
	var cs []prometheus.Collector
	cs = append(cs, semanticselector.Collectors()...)
	cs = append(cs, servedmodelfilter.Collectors()...)
	cs = append(cs, onnx.Collectors()...)
	cs = append(cs, batching.Collectors()...)
	cs = append(cs, cache.Collectors()...)
	cs = append(cs, ensemble.Collectors()...)
	return cs
}
