// Package decision is the decisions engine of model selection: ordered rules
// over signal results (AND / OR / NOT condition trees), each naming ranked
// candidate models and an optional system prompt. The first decision, in
// priority order, whose rules hold wins.
//
// The configuration mirrors vLLM Semantic Router's routing.decisions so that
// its configs translate one to one (see cmd/vsr-import). The category table
// of the selector is the simplest form: one domain leaf per decision.
package decision

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Operators of a condition node.
const (
	OpAnd = "AND"
	OpOr  = "OR"
	OpNot = "NOT"
)

// System prompt modes.
const (
	// ModeInsert prepends the text to the request's system message, or adds
	// one (the default).
	ModeInsert = "insert"
	// ModeReplace replaces the request's system message, or adds one.
	ModeReplace = "replace"
)

// Decision is one configured decision.
type Decision struct {
	// Name identifies the decision (in headers and metrics); unique in a set.
	Name string `json:"name"`
	// Priority orders decisions: higher first, ties keep config order.
	Priority int `json:"priority,omitempty"`
	// Description is free text for people reading the config.
	Description string `json:"description,omitempty"`
	// Rules is the condition tree that must hold for the decision to match.
	Rules Condition `json:"rules"`
	// Models are the ranked candidate models.
	Models []ModelRef `json:"models"`
	// SystemPrompt, when set, is inserted into or replaces the request's
	// system prompt.
	SystemPrompt *SystemPrompt `json:"systemPrompt,omitempty"`
}

// Condition is a node of a condition tree: either an operator over
// sub-conditions, or a leaf naming a signal and a name it must match.
type Condition struct {
	// Operator is AND, OR or NOT (NOT has exactly one condition); empty in a leaf.
	Operator string `json:"operator,omitempty"`
	// Conditions are the operands of Operator.
	Conditions []Condition `json:"conditions,omitempty"`
	// Signal is the signal plugin name of a leaf.
	Signal string `json:"signal,omitempty"`
	// Name is the match name of a leaf (a domain label, a keyword rule, a
	// similarity route).
	Name string `json:"name,omitempty"`
}

// ModelRef is one ranked candidate of a decision.
type ModelRef struct {
	// Model is the name of a declared model.
	Model string `json:"model"`
	// Weight is the model's share of the decision's traffic (optional).
	Weight float64 `json:"weight,omitempty"`
	// Reasoning, when set, turns the model family's reasoning switch on or off.
	Reasoning *bool `json:"reasoning,omitempty"`
}

// SystemPrompt is a decision's system prompt.
type SystemPrompt struct {
	// Text is the prompt text.
	Text string `json:"text"`
	// Mode is insert (default) or replace.
	Mode string `json:"mode,omitempty"`
}

// Lookup returns the result of the named signal and whether it was evaluated.
type Lookup func(signal string) (selection.SignalResult, bool)

// Set is a validated, ordered set of decisions, safe for concurrent use.
type Set struct {
	decisions []Decision
	trees     []node
	signals   []string
}

// Compile validates decisions and orders them by priority (higher first,
// ties keep config order). Errors name the offending field, e.g.
// `decisions[2].rules.conditions[1]: NOT needs exactly one condition`.
func Compile(decisions []Decision) (*Set, error) {
	s := &Set{}
	seen := map[string]int{}
	signals := map[string]struct{}{}
	var errs []error
	for i := range decisions {
		d := decisions[i]
		path := fmt.Sprintf("decisions[%d]", i)
		if strings.TrimSpace(d.Name) == "" {
			errs = append(errs, fmt.Errorf("%s.name: must not be empty", path))
		} else if j, dup := seen[d.Name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: %q is already the name of decisions[%d]", path, d.Name, j))
		} else {
			seen[d.Name] = i
		}
		n, err := compileCondition(&d.Rules, path+".rules", signals)
		if err != nil {
			errs = append(errs, err)
		}
		if err := validateModels(d.Models, path+".models"); err != nil {
			errs = append(errs, err)
		}
		if d.SystemPrompt != nil {
			sp := *d.SystemPrompt
			if sp.Mode == "" {
				sp.Mode = ModeInsert
			}
			switch sp.Mode {
			case ModeInsert, ModeReplace:
			default:
				errs = append(errs, fmt.Errorf("%s.systemPrompt.mode: %q is not one of %q, %q", path, sp.Mode, ModeInsert, ModeReplace))
			}
			if strings.TrimSpace(sp.Text) == "" {
				errs = append(errs, fmt.Errorf("%s.systemPrompt.text: must not be empty (omit systemPrompt instead)", path))
			}
			d.SystemPrompt = &sp
		}
		d.Models = append([]ModelRef(nil), d.Models...)
		s.decisions = append(s.decisions, d)
		s.trees = append(s.trees, n)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	idx := make([]int, len(s.decisions))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.decisions[idx[a]].Priority > s.decisions[idx[b]].Priority })
	ds := make([]Decision, len(idx))
	ts := make([]node, len(idx))
	for k, i := range idx {
		ds[k], ts[k] = s.decisions[i], s.trees[i]
	}
	s.decisions, s.trees = ds, ts
	for name := range signals {
		s.signals = append(s.signals, name)
	}
	sort.Strings(s.signals)
	idxOf := make(map[string]int, len(s.signals))
	for i, name := range s.signals {
		idxOf[name] = i
	}
	for i := range s.trees {
		s.trees[i].index(idxOf)
	}
	return s, nil
}

func validateModels(models []ModelRef, path string) error {
	if len(models) == 0 {
		return fmt.Errorf("%s: a decision needs at least one model", path)
	}
	var errs []error
	for i, m := range models {
		if strings.TrimSpace(m.Model) == "" {
			errs = append(errs, fmt.Errorf("%s[%d].model: must not be empty", path, i))
		}
		if m.Weight < 0 {
			errs = append(errs, fmt.Errorf("%s[%d].weight: %v is negative", path, i, m.Weight))
		}
	}
	return errors.Join(errs...)
}

// Decisions returns the decisions in match order (do not modify them).
func (s *Set) Decisions() []Decision { return s.decisions }

// Len is the number of decisions.
func (s *Set) Len() int { return len(s.decisions) }

// Signals lists, sorted, the signal names the set's rules reference: the
// signals the selector has to evaluate.
func (s *Set) Signals() []string { return append([]string(nil), s.signals...) }

// CheckSignals returns an error naming every referenced signal that known
// rejects, so a typo in a leaf fails at start-up rather than never matching.
func (s *Set) CheckSignals(known func(signal string) bool) error {
	var missing []string
	for _, name := range s.signals {
		if !known(name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("decisions reference signals that are not configured: %s", strings.Join(missing, ", "))
	}
	return nil
}

// Match returns the first decision, in priority order, whose rules hold.
// A leaf holds when its signal was evaluated and matched the leaf's name; a
// signal that was not evaluated (or failed) matches nothing, so NOT over it
// holds.
func (s *Set) Match(lookup Lookup) (*Decision, bool) {
	if s == nil {
		return nil, false
	}
	// Each referenced signal is looked up once, not once per leaf.
	var buf [8]resolved
	sigs := buf[:0]
	if len(s.signals) > len(buf) {
		sigs = make([]resolved, 0, len(s.signals))
	}
	for _, name := range s.signals {
		res, ok := lookup(name)
		sigs = append(sigs, resolved{res: res, ok: ok})
	}
	for i := range s.trees {
		if s.trees[i].eval(sigs) {
			return &s.decisions[i], true
		}
	}
	return nil, false
}
