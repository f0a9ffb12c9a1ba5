package main

// The part of a vLLM Semantic Router v0.3 config that vsr-import reads. Every
// other key is found by walking the document as a generic map (see
// untranslated in convert.go), so nothing is dropped silently.

type vsrConfig struct {
	Version   string       `json:"version"`
	Providers vsrProviders `json:"providers"`
	Routing   vsrRouting   `json:"routing"`
	Global    struct {
		Router struct {
			AutoModelName  string   `json:"auto_model_name"`
			AutoModelNames []string `json:"auto_model_names"`
		} `json:"router"`
	} `json:"global"`
}

type vsrProviders struct {
	Defaults struct {
		DefaultModel           string                        `json:"default_model"`
		DefaultReasoningEffort string                        `json:"default_reasoning_effort"`
		ReasoningFamilies      map[string]vsrReasoningFamily `json:"reasoning_families"`
	} `json:"defaults"`
	Models []struct {
		Name            string `json:"name"`
		ReasoningFamily string `json:"reasoning_family"`
	} `json:"models"`
}

type vsrReasoningFamily struct {
	Type      string `json:"type"`
	Parameter string `json:"parameter"`
}

type vsrRouting struct {
	Signals struct {
		Keywords   []vsrKeyword   `json:"keywords"`
		Embeddings []vsrEmbedding `json:"embeddings"`
		Domains    []vsrDomain    `json:"domains"`
	} `json:"signals"`
	Decisions []vsrDecision `json:"decisions"`
}

type vsrKeyword struct {
	Name          string   `json:"name"`
	Operator      string   `json:"operator"`
	Method        string   `json:"method"`
	Keywords      []string `json:"keywords"`
	CaseSensitive bool     `json:"case_sensitive"`
}

type vsrEmbedding struct {
	Name              string   `json:"name"`
	Threshold         float64  `json:"threshold"`
	AggregationMethod string   `json:"aggregation_method"`
	QueryModality     string   `json:"query_modality"`
	Candidates        []string `json:"candidates"`
}

type vsrDomain struct {
	Name           string   `json:"name"`
	MMLUCategories []string `json:"mmlu_categories"`
	ModelScores    []any    `json:"model_scores"`
}

type vsrDecision struct {
	Name      string         `json:"name"`
	Priority  int            `json:"priority"`
	Rules     vsrRule        `json:"rules"`
	ModelRefs []vsrModelRef  `json:"modelRefs"`
	Plugins   []vsrPlugin    `json:"plugins"`
	Raw       map[string]any `json:"-"`
}

type vsrRule struct {
	Operator   string    `json:"operator"`
	Conditions []vsrRule `json:"conditions"`
	Type       string    `json:"type"`
	Name       string    `json:"name"`
}

type vsrModelRef struct {
	Model        string   `json:"model"`
	UseReasoning *bool    `json:"use_reasoning"`
	Weight       *float64 `json:"weight"`
	LoraName     string   `json:"lora_name"`
	Effort       string   `json:"reasoning_effort"`
}

type vsrPlugin struct {
	Type          string         `json:"type"`
	Configuration map[string]any `json:"configuration"`
}
