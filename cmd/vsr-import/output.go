package main

import (
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/keyword"
	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

// Names and types of the plugins vsr-import emits. The signal names are what
// decision leaves reference.
const (
	selectorName         = "semantic-selector"
	selectorType         = "semantic-model-selector"
	classifierName       = "domain-classifier"
	classifierType       = "classifier"
	domainSignalName     = "domain"
	domainSignalType     = "domain-signal"
	keywordSignalName    = "keywords"
	similaritySignalName = "similarity"
)

// The EndpointPickerConfig written, in the field order a reader expects
// (JSON tags: the document is built as JSON, then re-encoded as block YAML).
type eppConfig struct {
	APIVersion         string        `json:"apiVersion"`
	Kind               string        `json:"kind"`
	Plugins            []pluginSpec  `json:"plugins"`
	DataLayer          dataLayer     `json:"dataLayer"`
	Parser             pluginRef     `json:"parser"`
	SchedulingProfiles []profileSpec `json:"schedulingProfiles"`
}

type pluginSpec struct {
	Name       string `json:"name,omitempty"`
	Type       string `json:"type"`
	Parameters any    `json:"parameters,omitempty"`
}

type pluginRef struct {
	PluginRef string `json:"pluginRef"`
	Weight    int    `json:"weight,omitempty"`
}

type dataLayer struct {
	Sources []dataSource `json:"sources"`
}

type dataSource struct {
	PluginRef  string      `json:"pluginRef"`
	Extractors []pluginRef `json:"extractors"`
}

type profileSpec struct {
	Name    string      `json:"name"`
	Plugins []pluginRef `json:"plugins"`
}

// selectorParams are the semantic-model-selector parameters: today's
// fields plus signals and decisions.
type selectorParams struct {
	AutoModelNames    []string                   `json:"autoModelNames"`
	Models            []selectorModel            `json:"models"`
	ReasoningFamilies map[string]reasoningFamily `json:"reasoningFamilies,omitempty"`
	DefaultModel      string                     `json:"defaultModel"`
	FailurePolicy     string                     `json:"failurePolicy"`
	Signals           []string                   `json:"signals"`
	Decisions         []decision.Decision        `json:"decisions"`
}

type selectorModel struct {
	Name            string `json:"name"`
	ReasoningFamily string `json:"reasoningFamily,omitempty"`
}

type reasoningFamily struct {
	Type      string `json:"type"`
	Parameter string `json:"parameter,omitempty"`
	EffortOn  string `json:"effortOn,omitempty"`
	EffortOff string `json:"effortOff,omitempty"`
}

type keywordParams struct {
	Rules []keyword.Rule `json:"rules"`
}

// endpointPlugins are the plugins after model selection: the served-model
// filter and the upstream endpoint scorers, as in config/semantic-epp.yaml.
func endpointPlugins() []pluginSpec {
	return []pluginSpec{
		{Name: "served-model-filter", Type: "served-model-filter", Parameters: map[string]any{
			"sources": []string{"label", "models"}, "labelKey": "semantic-epp.io/model"}},
		{Type: "served-model-profile-handler"},
		{Type: "queue-scorer"},
		{Type: "kv-cache-utilization-scorer"},
		{Type: "prefix-cache-scorer"},
		{Type: "max-score-picker"},
		{Type: "metrics-data-source"},
		{Type: "core-metrics-extractor"},
		{Type: "models-data-source", Parameters: map[string]any{"scheme": "http", "path": "/v1/models"}},
		{Type: "model-server-protocol-models"},
	}
}

func tail(cfg *eppConfig) {
	cfg.DataLayer = dataLayer{Sources: []dataSource{
		{PluginRef: "metrics-data-source", Extractors: []pluginRef{{PluginRef: "core-metrics-extractor"}}},
		{PluginRef: "models-data-source", Extractors: []pluginRef{{PluginRef: "model-server-protocol-models"}}},
	}}
	cfg.Parser = pluginRef{PluginRef: selectorName}
	cfg.SchedulingProfiles = []profileSpec{{Name: "default", Plugins: []pluginRef{
		{PluginRef: "served-model-filter"},
		{PluginRef: "queue-scorer", Weight: 2},
		{PluginRef: "kv-cache-utilization-scorer", Weight: 2},
		{PluginRef: "prefix-cache-scorer", Weight: 3},
		{PluginRef: "max-score-picker"},
	}}}
}
