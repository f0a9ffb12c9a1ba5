package semanticselector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

// Failure policies: what happens when the classifier errors or times out.
const (
	// FailOpen routes the request to defaultModel (the default).
	FailOpen = "open"
	// FailClosed rejects the request.
	FailClosed = "closed"
)

// Reasoning switch kinds a ReasoningFamily can use.
const (
	// SwitchChatTemplateKwarg sets chat_template_kwargs.<parameter> to true or false.
	SwitchChatTemplateKwarg = "chat_template_kwargs"
	// SwitchReasoningEffort sets the top-level field <parameter> (default
	// "reasoning_effort") to effortOn or effortOff.
	SwitchReasoningEffort = "reasoning_effort"
)

// Defaults of the optional parameters.
const (
	DefaultClassifierTimeout = 200 * time.Millisecond
	defaultEffortOn          = "high"
	defaultEffortOff         = "low"
)

// DefaultAutoModelNames are the model names that trigger selection when
// autoModelNames is not set.
var DefaultAutoModelNames = []string{"auto"}

// Parameters are the plugin parameters (the `parameters` of the plugin in
// EndpointPickerConfig). See README.md for the reference.
type Parameters struct {
	// AutoModelNames lists the request model names that trigger selection.
	AutoModelNames []string `json:"autoModelNames,omitempty"`
	// Models declares every model the selector may choose, with its reasoning family.
	Models []Model `json:"models"`
	// ReasoningFamilies adds to (or overrides) the built-in families.
	ReasoningFamilies map[string]ReasoningFamily `json:"reasoningFamilies,omitempty"`
	// Categories maps classifier labels to ranked model lists.
	Categories []Category `json:"categories"`
	// DefaultModel is chosen when no category applies, confidence is below
	// Threshold, there is no text, or the classifier fails (fail-open).
	DefaultModel string `json:"defaultModel"`
	// Threshold is the minimum confidence (0..1) for a category to be used.
	Threshold float64 `json:"threshold,omitempty"`
	// Classifier selects the classifier backend and model files of a
	// classifier private to this selector.
	Classifier classifier.Config `json:"classifier,omitempty"`
	// ClassifierRef names a `classifier` plugin declared earlier in the
	// config, shared with other plugins; it excludes Classifier.
	ClassifierRef string `json:"classifierRef,omitempty"`
	// ClassifierTimeout bounds one classification ("200ms" by default).
	ClassifierTimeout *metav1.Duration `json:"classifierTimeout,omitempty"`
	// FailurePolicy is "open" (default) or "closed".
	FailurePolicy string `json:"failurePolicy,omitempty"`
	// Selection configures model filters and scorers applied to a category's
	// candidates; without it the category's order and weights decide.
	Selection *Pipeline `json:"selection,omitempty"`
	// Signals names the signal plugins (declared earlier) that decisions read.
	Signals []string `json:"signals,omitempty"`
	// Decisions are rules over signals, tried by priority; the first that
	// holds names the ranked candidate models (and a system prompt). They are
	// tried before categories.
	Decisions []decision.Decision `json:"decisions,omitempty"`
}

// Model declares a model the selector may route to.
type Model struct {
	// Name is the model name written into the request body.
	Name string `json:"name"`
	// ReasoningFamily names the family whose switch `reasoning` toggles; empty
	// means the model has no reasoning switch.
	ReasoningFamily string `json:"reasoningFamily,omitempty"`
}

// ReasoningFamily says how a model family's reasoning mode is switched in a
// chat completions body.
type ReasoningFamily struct {
	// Type is "chat_template_kwargs" or "reasoning_effort".
	Type string `json:"type"`
	// Parameter is the key set: the chat_template_kwargs key, or the
	// top-level field for reasoning_effort (default "reasoning_effort").
	Parameter string `json:"parameter,omitempty"`
	// EffortOn and EffortOff are the reasoning_effort values for reasoning
	// true and false (defaults "high" and "low").
	EffortOn  string `json:"effortOn,omitempty"`
	EffortOff string `json:"effortOff,omitempty"`
}

// Category maps one classifier label to a ranked list of models.
type Category struct {
	// Name is a label of the classifier.
	Name string `json:"name"`
	// Models is the ranked list. Without weights the first model is chosen;
	// with weights, traffic is split in proportion to them. The models after
	// the first choice are those the category may fall back to when the
	// selection stage's filters pass over it (e.g. saturated endpoints).
	Models []CategoryModel `json:"models"`
	// MaxFallbackRank bounds how far down the list a fallback may go:
	// 0 never falls back; the default is the whole list.
	MaxFallbackRank *int `json:"maxFallbackRank,omitempty"`
}

// maxFallbackRank applies the default (the whole list).
func (c Category) maxFallbackRank() int {
	if c.MaxFallbackRank == nil {
		return len(c.Models) - 1
	}
	return *c.MaxFallbackRank
}

// CategoryModel is one entry of a category's ranked list.
type CategoryModel struct {
	// Model is the name of a declared model.
	Model string `json:"model"`
	// Weight is the model's share of the category's traffic (optional).
	Weight float64 `json:"weight,omitempty"`
	// Reasoning, when set, turns the model family's reasoning switch on or off.
	Reasoning *bool `json:"reasoning,omitempty"`
}

// BuiltinReasoningFamilies are the families known without configuration.
func BuiltinReasoningFamilies() map[string]ReasoningFamily {
	return map[string]ReasoningFamily{
		"qwen3":    {Type: SwitchChatTemplateKwarg, Parameter: "enable_thinking"},
		"deepseek": {Type: SwitchChatTemplateKwarg, Parameter: "thinking"},
		"gpt-oss":  {Type: SwitchReasoningEffort, Parameter: "reasoning_effort", EffortOn: defaultEffortOn, EffortOff: defaultEffortOff},
	}
}

// DecodeParameters reads the raw plugin parameters strictly (unknown fields
// are errors), applies defaults and validates everything that does not need
// the classifier. Label checks happen in ValidateLabels once it is loaded.
func DecodeParameters(raw json.RawMessage) (*Parameters, error) {
	p := &Parameters{}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, errors.New("parameters are required: declare models, categories and defaultModel")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("invalid parameters: %w", err)
	}
	p.applyDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Parameters) applyDefaults() {
	if len(p.AutoModelNames) == 0 {
		p.AutoModelNames = append([]string(nil), DefaultAutoModelNames...)
	}
	if p.ClassifierTimeout == nil {
		p.ClassifierTimeout = &metav1.Duration{Duration: DefaultClassifierTimeout}
	}
	if p.FailurePolicy == "" {
		p.FailurePolicy = FailOpen
	}
	families := BuiltinReasoningFamilies()
	for name, f := range p.ReasoningFamilies {
		families[name] = f
	}
	for name, f := range families {
		if f.Type == SwitchReasoningEffort {
			if f.Parameter == "" {
				f.Parameter = "reasoning_effort"
			}
			if f.EffortOn == "" {
				f.EffortOn = defaultEffortOn
			}
			if f.EffortOff == "" {
				f.EffortOff = defaultEffortOff
			}
		}
		families[name] = f
	}
	p.ReasoningFamilies = families
}

// validate checks the parameters; every error names the offending field.
func (p *Parameters) validate() error {
	var errs []error
	for i, n := range p.AutoModelNames {
		if strings.TrimSpace(n) == "" {
			errs = append(errs, fmt.Errorf("autoModelNames[%d]: must not be empty", i))
		}
	}
	for name, f := range p.ReasoningFamilies {
		switch f.Type {
		case SwitchChatTemplateKwarg:
			if f.Parameter == "" {
				errs = append(errs, fmt.Errorf("reasoningFamilies[%q].parameter: required for type %q", name, f.Type))
			}
		case SwitchReasoningEffort:
		default:
			errs = append(errs, fmt.Errorf("reasoningFamilies[%q].type: %q is not %q or %q",
				name, f.Type, SwitchChatTemplateKwarg, SwitchReasoningEffort))
		}
	}
	known := make(map[string]Model, len(p.Models))
	if len(p.Models) == 0 {
		errs = append(errs, errors.New("models: declare at least one model"))
	}
	for i, m := range p.Models {
		switch {
		case strings.TrimSpace(m.Name) == "":
			errs = append(errs, fmt.Errorf("models[%d].name: must not be empty", i))
		case isAuto(p.AutoModelNames, m.Name):
			errs = append(errs, fmt.Errorf("models[%d].name: %q is also an auto model name", i, m.Name))
		default:
			if _, dup := known[m.Name]; dup {
				errs = append(errs, fmt.Errorf("models[%d].name: %q declared twice", i, m.Name))
			}
		}
		if m.ReasoningFamily != "" {
			if _, ok := p.ReasoningFamilies[m.ReasoningFamily]; !ok {
				errs = append(errs, fmt.Errorf("models[%d].reasoningFamily: unknown family %q", i, m.ReasoningFamily))
			}
		}
		known[m.Name] = m
	}
	if p.DefaultModel == "" {
		errs = append(errs, errors.New("defaultModel: required"))
	} else if _, ok := known[p.DefaultModel]; !ok {
		errs = append(errs, fmt.Errorf("defaultModel: unknown model %q (declare it in models)", p.DefaultModel))
	}
	if p.Threshold < 0 || p.Threshold > 1 {
		errs = append(errs, fmt.Errorf("threshold: %v is outside [0, 1]", p.Threshold))
	}
	if p.ClassifierRef != "" && !reflect.DeepEqual(p.Classifier, classifier.Config{}) {
		errs = append(errs, errors.New("classifierRef: set either classifierRef or classifier, not both"))
	}
	if p.ClassifierTimeout.Duration <= 0 {
		errs = append(errs, errors.New("classifierTimeout: must be positive"))
	}
	if p.FailurePolicy != FailOpen && p.FailurePolicy != FailClosed {
		errs = append(errs, fmt.Errorf("failurePolicy: %q is not %q or %q", p.FailurePolicy, FailOpen, FailClosed))
	}
	errs = append(errs, p.validateCategories(known)...)
	errs = append(errs, p.Selection.validate()...)
	errs = append(errs, p.validateDecisions(known)...)
	return errors.Join(errs...)
}

func (p *Parameters) validateCategories(known map[string]Model) []error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range p.Categories {
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("categories[%d].name: must not be empty", i))
		} else if seen[c.Name] {
			errs = append(errs, fmt.Errorf("categories[%d].name: %q listed twice", i, c.Name))
		}
		seen[c.Name] = true
		if len(c.Models) == 0 {
			errs = append(errs, fmt.Errorf("categories[%d].models: list at least one model", i))
		}
		if r := c.MaxFallbackRank; r != nil && (*r < 0 || *r >= max(len(c.Models), 1)) {
			errs = append(errs, fmt.Errorf("categories[%d].maxFallbackRank: %d is outside [0, %d] (the list's last rank)",
				i, *r, max(len(c.Models)-1, 0)))
		}
		for j, cm := range c.Models {
			field := fmt.Sprintf("categories[%d].models[%d]", i, j)
			m, ok := known[cm.Model]
			if !ok {
				errs = append(errs, fmt.Errorf("%s.model: unknown model %q (declare it in models)", field, cm.Model))
			}
			if cm.Weight < 0 {
				errs = append(errs, fmt.Errorf("%s.weight: %v must not be negative", field, cm.Weight))
			}
			if ok && cm.Reasoning != nil && m.ReasoningFamily == "" {
				errs = append(errs, fmt.Errorf("%s.reasoning: model %q declares no reasoningFamily", field, cm.Model))
			}
		}
	}
	return errs
}

// ValidateLabels checks that every category is a label of the classifier.
func (p *Parameters) ValidateLabels(labels []string) error {
	set := make(map[string]bool, len(labels))
	for _, l := range labels {
		set[l] = true
	}
	var errs []error
	for i, c := range p.Categories {
		if !set[c.Name] {
			errs = append(errs, fmt.Errorf("categories[%d].name: %q is not a classifier label (labels: %s)",
				i, c.Name, strings.Join(labels, ", ")))
		}
	}
	return errors.Join(errs...)
}

func isAuto(names []string, model string) bool {
	for _, n := range names {
		if n == model {
			return true
		}
	}
	return false
}

func (p *Pipeline) validate() []error {
	if p == nil {
		return nil
	}
	var errs []error
	for i, f := range p.Filters {
		if f.PluginRef == "" {
			errs = append(errs, fmt.Errorf("selection.filters[%d].pluginRef: required", i))
		}
		if f.Weight != nil {
			errs = append(errs, fmt.Errorf("selection.filters[%d].weight: filters take no weight", i))
		}
	}
	for i, sc := range p.Scorers {
		if sc.PluginRef == "" {
			errs = append(errs, fmt.Errorf("selection.scorers[%d].pluginRef: required", i))
		}
		if sc.Weight != nil && *sc.Weight < 0 {
			errs = append(errs, fmt.Errorf("selection.scorers[%d].weight: %v must not be negative", i, *sc.Weight))
		}
	}
	return errs
}

func (p *Parameters) validateDecisions(known map[string]Model) []error {
	var errs []error
	listed := map[string]bool{}
	for i, name := range p.Signals {
		if name == "" || listed[name] {
			errs = append(errs, fmt.Errorf("signals[%d]: %q is empty or listed twice", i, name))
		}
		listed[name] = true
	}
	for i, d := range p.Decisions {
		for j, m := range d.Models {
			m2, ok := known[m.Model]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("decisions[%d].models[%d].model: unknown model %q (declare it in models)", i, j, m.Model))
			case m.Reasoning != nil && m2.ReasoningFamily == "":
				errs = append(errs, fmt.Errorf("decisions[%d].models[%d].reasoning: model %q declares no reasoningFamily", i, j, m.Model))
			}
		}
	}
	if len(p.Decisions) == 0 {
		return errs
	}
	set, err := decision.Compile(p.Decisions)
	if err != nil {
		return append(errs, err)
	}
	if err := set.CheckSignals(func(s string) bool { return listed[s] }); err != nil {
		errs = append(errs, fmt.Errorf("%w (list every signal a decision reads in signals)", err))
	}
	return errs
}

// needsClassifier reports whether the selector classifies by itself: for
// categories; decisions read classifiers through their signals.
func (p *Parameters) needsClassifier() bool {
	return len(p.Categories) > 0 || p.ClassifierRef != "" || !reflect.DeepEqual(p.Classifier, classifier.Config{}) || len(p.Decisions) == 0
}
