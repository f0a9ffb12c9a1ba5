package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/keyword"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/similarity"
	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

// Report collects what was not translated (or only approximately), one
// line each, so the user sees everything the converted config lacks.
type Report struct {
	Lines []string
}

func (r *Report) notTranslated(path, why string, args ...any) {
	r.Lines = append(r.Lines, "not translated: "+path+": "+fmt.Sprintf(why, args...))
}

func (r *Report) approximated(path, why string, args ...any) {
	r.Lines = append(r.Lines, "approximated: "+path+": "+fmt.Sprintf(why, args...))
}

func (r *Report) note(path, why string, args ...any) {
	r.Lines = append(r.Lines, "note: "+path+": "+fmt.Sprintf(why, args...))
}

// translated lists the keys vsr-import reads, by path ([] for list items);
// every other key found in the document is reported.
var translated = map[string]bool{
	"version": true, "providers": true, "providers.defaults": true,
	"providers.defaults.default_model": true, "providers.defaults.reasoning_families": true,
	"providers.defaults.default_reasoning_effort": true,
	"providers.models":                            true, "providers.models[].name": true, "providers.models[].reasoning_family": true,
	"routing": true, "routing.signals": true, "routing.decisions": true,
	"routing.signals.keywords": true, "routing.signals.embeddings": true, "routing.signals.domains": true,
	"routing.signals.keywords[].name": true, "routing.signals.keywords[].operator": true,
	"routing.signals.keywords[].keywords": true, "routing.signals.keywords[].case_sensitive": true,
	"routing.signals.keywords[].method": true,
	"routing.signals.embeddings[].name": true, "routing.signals.embeddings[].threshold": true,
	"routing.signals.embeddings[].aggregation_method": true, "routing.signals.embeddings[].candidates": true,
	"routing.signals.embeddings[].query_modality": true,
	"routing.signals.domains[].name":              true, "routing.signals.domains[].mmlu_categories": true,
	"routing.signals.domains[].description": true, "routing.signals.keywords[].description": true,
	"routing.signals.embeddings[].description": true,
	"routing.decisions[].name":                 true, "routing.decisions[].priority": true, "routing.decisions[].description": true,
	"routing.decisions[].rules": true, "routing.decisions[].modelRefs": true, "routing.decisions[].plugins": true,
	"routing.decisions[].modelRefs[].model": true, "routing.decisions[].modelRefs[].use_reasoning": true,
	"routing.decisions[].modelRefs[].weight": true, "routing.decisions[].modelRefs[].lora_name": true,
	"routing.decisions[].modelRefs[].reasoning_effort": true,
	"global": true, "global.router": true, "global.router.auto_model_name": true, "global.router.auto_model_names": true,
}

// whole lists translated keys whose subtrees the typed translation reads
// (and reports on) itself.
var whole = map[string]bool{
	"providers.defaults.reasoning_families":     true,
	"routing.decisions[].rules":                 true,
	"routing.decisions[].plugins":               true,
	"routing.signals.keywords[].keywords":       true,
	"routing.signals.embeddings[].candidates":   true,
	"routing.signals.domains[].mmlu_categories": true,
	"global.router.auto_model_names":            true,
}

// why says, for well-known keys, why they have no equivalent.
var why = map[string]string{
	"listeners":                                  "the gateway owns listeners",
	"providers.models[].backend_refs":            "endpoints come from the InferencePool; the served-model filter picks the pods of the chosen model",
	"providers.models[].reliability":             "retries and outlier detection belong to the gateway (Envoy/Istio)",
	"routing.modelCards":                         "descriptive model metadata; no equivalent",
	"routing.signals.jailbreak":                  "jailbreak models are not supported",
	"routing.signals.pii":                        "PII models are not supported",
	"global.stores":                              "semantic cache, memory and vector stores are not supported",
	"global.integrations":                        "tool selection and integrations are not supported",
	"global.model_catalog":                       "the router's model files are not read: the domain signal uses the embedded classifier; to keep the router's domain classifier, set the classifier plugin's modelDir to its exported directory (docs/deployment.md)",
	"routing.decisions[].algorithm":              "model selection among candidates is the selector's model filters and scorers",
	"routing.signals.keywords[].bm25_threshold":  "keyword scoring methods are not supported; rules match exactly",
	"routing.signals.keywords[].ngram_threshold": "keyword scoring methods are not supported; rules match exactly",
	"routing.signals.keywords[].ngram_arity":     "keyword scoring methods are not supported; rules match exactly",
	"routing.signals.keywords[].fuzzy_match":     "keyword scoring methods are not supported; rules match exactly",
	"routing.signals.keywords[].fuzzy_threshold": "keyword scoring methods are not supported; rules match exactly",
	"routing.signals.domains[].model_scores":     "per-domain model scores are not supported; use decisions' ranked models",
}

// walkUntranslated reports each key of doc not in translated, once per path,
// listing how many items carry it. It descends only into translated keys: an
// untranslated key is reported whole.
func walkUntranslated(doc map[string]any, r *Report) {
	counts := map[string]int{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch t := v.(type) {
		case map[string]any:
			for k, sub := range t {
				p := k
				if path != "" {
					p = path + "." + k
				}
				if !translated[p] {
					counts[p]++
					continue
				}
				if !whole[p] {
					walk(sub, p)
				}
			}
		case []any:
			for _, item := range t {
				walk(item, path+"[]")
			}
		}
	}
	walk(doc, "")
	paths := make([]string, 0, len(counts))
	for p := range counts {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		reason := why[p]
		if reason == "" {
			reason = "no equivalent in semantic-epp"
		}
		if strings.Contains(p, "[]") && counts[p] > 1 {
			reason = fmt.Sprintf("%s (%d items)", reason, counts[p])
		}
		r.notTranslated(p, "%s", reason)
	}
}

// Convert translates a vLLM Semantic Router v0.3 config into an
// EndpointPickerConfig, returning the YAML and the report.
func Convert(src []byte) ([]byte, *Report, error) {
	r := &Report{}
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, nil, fmt.Errorf("reading the router config: %w", err)
	}
	if doc == nil {
		return nil, nil, fmt.Errorf("the router config is empty")
	}
	_, hasRouting := doc["routing"]
	_, hasProviders := doc["providers"]
	if !hasRouting && !hasProviders {
		if kind, ok := doc["kind"].(string); ok {
			return nil, nil, fmt.Errorf("this is a Kubernetes %s manifest, not a vLLM Semantic Router config (no routing or providers)", kind)
		}
		return nil, nil, fmt.Errorf("not a vLLM Semantic Router config: it has neither routing nor providers")
	}
	var in vsrConfig
	if err := yaml.Unmarshal(src, &in); err != nil {
		return nil, nil, fmt.Errorf("reading the router config: %w", err)
	}
	if in.Version != "" && in.Version != "v0.3" {
		r.note("version", "%q: vsr-import reads v0.3; check the result", in.Version)
	}
	walkUntranslated(doc, r)
	rawDecisions := listAt(doc, "routing", "decisions")

	sel := selectorParams{FailurePolicy: "open"}
	sel.AutoModelNames = autoModelNames(in)
	if len(sel.AutoModelNames) == 0 {
		sel.AutoModelNames = []string{"auto", "MoM"}
		r.note("global.router.auto_model_names", "not set; selection runs for model %q and %q (check which name your clients send)", "auto", "MoM")
	}
	declared := map[string]bool{}
	for _, m := range in.Providers.Models {
		sel.Models = append(sel.Models, selectorModel{Name: m.Name, ReasoningFamily: m.ReasoningFamily})
		declared[m.Name] = true
	}
	sel.ReasoningFamilies = families(in.Providers.Defaults.ReasoningFamilies, in.Providers.Defaults.DefaultReasoningEffort, r)

	kw := keywordRules(in.Routing.Signals.Keywords, r)
	sim := similarityRoutes(in.Routing.Signals.Embeddings, embeddingModel(doc), r)
	domains := map[string][]string{}
	for _, d := range in.Routing.Signals.Domains {
		cats := d.MMLUCategories
		if len(cats) == 0 {
			cats = []string{d.Name}
		}
		domains[d.Name] = cats
	}
	tr := &ruleTranslator{keywords: map[string]bool{}, similarity: map[string]bool{}, domains: domains}
	for _, k := range kw {
		tr.keywords[k.Name] = true
	}
	for _, s := range sim {
		tr.similarity[s.Name] = true
	}

	for i, d := range in.Routing.Decisions {
		path := fmt.Sprintf("routing.decisions[%d] (%s)", i, d.Name)
		if i < len(rawDecisions) {
			if m, ok := rawDecisions[i].(map[string]any); ok && m["rules"] == nil {
				r.notTranslated(path, "the decision has no rules (it routes on signals vsr-import does not translate); dropped")
				continue
			}
		}
		rules, err := tr.rule(d.Rules)
		if err != nil {
			r.notTranslated(path, "%v; the decision is dropped", err)
			continue
		}
		out := decision.Decision{Name: d.Name, Priority: d.Priority, Rules: rules}
		for j, m := range d.ModelRefs {
			ref := decision.ModelRef{Model: m.Model, Reasoning: m.UseReasoning}
			if m.Weight != nil {
				ref.Weight = *m.Weight
			}
			if m.LoraName != "" {
				r.notTranslated(fmt.Sprintf("%s.modelRefs[%d].lora_name", path, j), "LoRA adapters are not selected; %q is routed as model %q", m.LoraName, m.Model)
			}
			if m.Effort != "" {
				r.notTranslated(fmt.Sprintf("%s.modelRefs[%d].reasoning_effort", path, j), "per-decision reasoning effort is not supported")
			}
			if !declared[m.Model] && m.Model != "" {
				declared[m.Model] = true
				sel.Models = append(sel.Models, selectorModel{Name: m.Model})
				r.note("providers.models", "model %q is referenced by decision %q but not declared; declared without a reasoning family", m.Model, d.Name)
			}
			if ref.Reasoning != nil && !hasFamily(sel.Models, m.Model) {
				// The selector refuses a reasoning switch for a model without a
				// family; false is the router's no-op default, true is lost.
				if *ref.Reasoning {
					r.notTranslated(fmt.Sprintf("%s.modelRefs[%d].use_reasoning", path, j),
						"model %q has no reasoning family, so reasoning cannot be switched on; dropped", m.Model)
				}
				ref.Reasoning = nil
			}
			out.Models = append(out.Models, ref)
		}
		for j, p := range d.Plugins {
			pp := fmt.Sprintf("%s.plugins[%d] (%s)", path, j, p.Type)
			if p.Type != "system_prompt" {
				r.notTranslated(pp, "decision plugin has no equivalent")
				continue
			}
			if en, ok := p.Configuration["enabled"].(bool); ok && !en {
				r.note(pp, "disabled in the router config; not emitted")
				continue
			}
			text, _ := p.Configuration["system_prompt"].(string)
			mode, _ := p.Configuration["mode"].(string)
			if mode == "" {
				mode = decision.ModeInsert
			}
			out.SystemPrompt = &decision.SystemPrompt{Text: text, Mode: mode}
		}
		sel.Decisions = append(sel.Decisions, out)
	}

	sel.DefaultModel = in.Providers.Defaults.DefaultModel
	switch {
	case sel.DefaultModel == "" && len(sel.Models) > 0:
		sel.DefaultModel = sel.Models[0].Name
		r.note("providers.defaults.default_model", "not set; %q (the first model) is the default", sel.DefaultModel)
	case sel.DefaultModel == "":
		r.note("providers.defaults.default_model", "not set and no model declared; set models and defaultModel before use")
	case !declared[sel.DefaultModel]:
		declared[sel.DefaultModel] = true
		sel.Models = append(sel.Models, selectorModel{Name: sel.DefaultModel})
		r.note("providers.models", "default model %q is not declared; declared without a reasoning family", sel.DefaultModel)
	}

	cfg := eppConfig{APIVersion: "inference.networking.x-k8s.io/v1alpha1", Kind: "EndpointPickerConfig"}
	// Signals: those the kept decisions reference, and every signal kind
	// the router config declares (so its rules can be referenced later).
	used := map[string]bool{}
	if set, err := decision.Compile(sel.Decisions); err == nil {
		for _, s := range set.Signals() {
			used[s] = true
		}
	}
	// One classifier serves the domain and the similarity signal: its graph
	// yields the domain scores and the embedding in one pass.
	withDomain := used[domainSignalName] || len(in.Routing.Signals.Domains) > 0
	if withDomain || len(sim) > 0 {
		cfg.Plugins = append(cfg.Plugins,
			pluginSpec{Name: classifierName, Type: classifierType, Parameters: map[string]any{"modelDir": "embedded", "cacheSize": 1024}})
	}
	if withDomain {
		sel.Signals = append(sel.Signals, domainSignalName)
		cfg.Plugins = append(cfg.Plugins,
			pluginSpec{Name: domainSignalName, Type: domainSignalType, Parameters: map[string]any{"classifierRef": classifierName}})
	}
	if len(kw) > 0 {
		sel.Signals = append(sel.Signals, keywordSignalName)
		cfg.Plugins = append(cfg.Plugins, pluginSpec{Name: keywordSignalName, Type: keyword.Type, Parameters: keywordParams{Rules: kw}})
	}
	if len(sim) > 0 {
		sel.Signals = append(sel.Signals, similaritySignalName)
		cfg.Plugins = append(cfg.Plugins, pluginSpec{Name: similaritySignalName, Type: similarity.Type,
			Parameters: similarity.Parameters{ClassifierRef: classifierName, Routes: sim}})
	}
	if sel.Models == nil {
		sel.Models = []selectorModel{}
	}
	if sel.Signals == nil {
		sel.Signals = []string{}
	}
	if sel.Decisions == nil {
		sel.Decisions = []decision.Decision{}
	}
	// The selector looks its signals up by name at start-up: it comes after them.
	cfg.Plugins = append(cfg.Plugins, pluginSpec{Name: selectorName, Type: selectorType, Parameters: &sel})
	cfg.Plugins = append(cfg.Plugins, endpointPlugins()...)
	tail(&cfg)
	out, err := encode(cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := validate(out, &sel, kw, sim); err != nil {
		return nil, nil, fmt.Errorf("the converted config does not validate: %w", err)
	}
	return out, r, nil
}

func autoModelNames(in vsrConfig) []string {
	names := slices.Clone(in.Global.Router.AutoModelNames)
	if n := in.Global.Router.AutoModelName; n != "" && !slices.Contains(names, n) {
		names = append([]string{n}, names...)
	}
	return names
}

func families(in map[string]vsrReasoningFamily, effort string, r *Report) map[string]reasoningFamily {
	if len(in) == 0 {
		return nil
	}
	out := map[string]reasoningFamily{}
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := in[n]
		switch f.Type {
		case "chat_template_kwargs":
			out[n] = reasoningFamily{Type: f.Type, Parameter: f.Parameter}
		case "reasoning_effort":
			if strings.Contains(f.Parameter, ".") {
				r.notTranslated("providers.defaults.reasoning_families."+n, "nested parameter %q is not supported (only a top-level field)", f.Parameter)
				continue
			}
			out[n] = reasoningFamily{Type: f.Type, Parameter: f.Parameter, EffortOn: effort}
		case "top_level_reasoning_effort":
			out[n] = reasoningFamily{Type: "reasoning_effort", Parameter: f.Parameter, EffortOn: effort}
		default:
			r.notTranslated("providers.defaults.reasoning_families."+n, "switch type %q is not supported", f.Type)
		}
	}
	return out
}

func keywordRules(in []vsrKeyword, r *Report) []keyword.Rule {
	var out []keyword.Rule
	for i, k := range in {
		path := fmt.Sprintf("routing.signals.keywords[%d] (%s)", i, k.Name)
		op := strings.ToUpper(k.Operator)
		if op != "" && op != "OR" && op != "AND" {
			r.notTranslated(path, "operator %q is not supported (any/all only); decisions on it are dropped", k.Operator)
			continue
		}
		if k.Method != "" && k.Method != "exact" {
			r.approximated(path, "method %q is matched as exact whole-word keywords", k.Method)
		}
		rule := keyword.Rule{Name: k.Name, Keywords: k.Keywords, CaseSensitive: k.CaseSensitive}
		if op == "AND" {
			rule.Operator = keyword.OpAll
		}
		out = append(out, rule)
	}
	return out
}

func similarityRoutes(in []vsrEmbedding, model string, r *Report) []similarity.Route {
	var out []similarity.Route
	for i, e := range in {
		path := fmt.Sprintf("routing.signals.embeddings[%d] (%s)", i, e.Name)
		agg := strings.ToLower(e.AggregationMethod)
		switch {
		case e.QueryModality != "" && e.QueryModality != "text":
			r.notTranslated(path, "query_modality %q: only text prompts are embedded; decisions on it are dropped", e.QueryModality)
			continue
		case len(e.Candidates) == 0:
			r.notTranslated(path, "no candidates; decisions on it are dropped")
			continue
		case e.Threshold < 0 || e.Threshold > 1:
			r.notTranslated(path, "threshold %v is outside [0, 1] (a cosine); decisions on it are dropped", e.Threshold)
			continue
		case agg != "" && agg != similarity.AggMax && agg != similarity.AggMean && agg != similarity.AggAny:
			r.notTranslated(path, "aggregation_method %q is not max, mean or any; decisions on it are dropped", e.AggregationMethod)
			continue
		}
		th := e.Threshold
		out = append(out, similarity.Route{Name: e.Name, Threshold: &th, Aggregation: agg, Examples: e.Candidates})
	}
	if len(out) > 0 {
		router := "its default embedding model"
		if model != "" {
			router = fmt.Sprintf("its %q embedding model", model)
		}
		r.approximated("routing.signals.embeddings", "the router embeds with %s; the %s plugin uses semantic-epp's embedded encoder "+
			"(the default classifier's embedding output, trained on 14 subject domains), so the thresholds are cosines of another "+
			"encoder: re-check them (docs/model-card.md)", router, similarity.Type)
	}
	return out
}

// embeddingModel is the router's embedding model type
// (global.model_catalog.embeddings.semantic.embedding_config.model_type), or "".
func embeddingModel(doc map[string]any) string {
	v := any(doc)
	for _, k := range []string{"global", "model_catalog", "embeddings", "semantic", "embedding_config", "model_type"} {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// ruleTranslator maps a router condition tree to a decision condition tree.
type ruleTranslator struct {
	keywords, similarity map[string]bool
	domains              map[string][]string // domain name -> classifier labels
}

func (t *ruleTranslator) rule(in vsrRule) (decision.Condition, error) {
	if in.Operator != "" {
		out := decision.Condition{Operator: strings.ToUpper(in.Operator)}
		for _, c := range in.Conditions {
			sub, err := t.rule(c)
			if err != nil {
				return decision.Condition{}, err
			}
			out.Conditions = append(out.Conditions, sub)
		}
		return out, nil
	}
	switch in.Type {
	case "domain":
		cats, ok := t.domains[in.Name]
		if !ok || (len(cats) == 1 && cats[0] == in.Name) {
			return decision.Condition{Signal: domainSignalName, Name: in.Name}, nil
		}
		// A domain that groups several classifier labels matches any of them.
		out := decision.Condition{Operator: decision.OpOr}
		for _, c := range cats {
			out.Conditions = append(out.Conditions, decision.Condition{Signal: domainSignalName, Name: c})
		}
		return out, nil
	case "keyword":
		if !t.keywords[in.Name] {
			return decision.Condition{}, fmt.Errorf("keyword signal %q is not translated", in.Name)
		}
		return decision.Condition{Signal: keywordSignalName, Name: in.Name}, nil
	case "embedding":
		if !t.similarity[in.Name] {
			return decision.Condition{}, fmt.Errorf("embedding signal %q is not translated", in.Name)
		}
		return decision.Condition{Signal: similaritySignalName, Name: in.Name}, nil
	default:
		return decision.Condition{}, fmt.Errorf("signal type %q (%s) has no equivalent", in.Type, in.Name)
	}
}

// listAt returns the list at doc[k1][k2], or nil.
func listAt(doc map[string]any, k1, k2 string) []any {
	m, _ := doc[k1].(map[string]any)
	l, _ := m[k2].([]any)
	return l
}

// hasFamily reports whether model is declared with a reasoning family.
func hasFamily(models []selectorModel, model string) bool {
	for _, m := range models {
		if m.Name == model {
			return m.ReasoningFamily != ""
		}
	}
	return false
}
