package semanticselector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
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
	// Classifier selects the classifier backend and model files.
	Classifier classifier.Config `json:"classifier,omitempty"`
	// ClassifierTimeout bounds one classification ("200ms" by default).
	ClassifierTimeout *metav1.Duration `json:"classifierTimeout,omitempty"`
	// FailurePolicy is "open" (default) or "closed".
	FailurePolicy string `json:"failurePolicy,omitempty"`
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
	// with weights, traffic is split in proportion to them.
	Models []CategoryModel `json:"models"`
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
	if p.ClassifierTimeout.Duration <= 0 {
		errs = append(errs, errors.New("classifierTimeout: must be positive"))
	}
	if p.FailurePolicy != FailOpen && p.FailurePolicy != FailClosed {
		errs = append(errs, fmt.Errorf("failurePolicy: %q is not %q or %q", p.FailurePolicy, FailOpen, FailClosed))
	}
	errs = append(errs, p.validateCategories(known)...)
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
