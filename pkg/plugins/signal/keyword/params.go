package keyword

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/internal/params"
)

// Rule operators: whether one or every keyword/regex of a rule must match.
const (
	OpAny = "any"
	OpAll = "all"
)

// Parameters are the plugin parameters.
type Parameters struct {
	// Rules are the keyword rules; a request matches every rule that holds.
	Rules []Rule `json:"rules"`
}

// Rule is one named keyword rule.
type Rule struct {
	// Name is what the signal reports when the rule holds (the name a
	// decision leaf matches).
	Name string `json:"name"`
	// Operator is any (default; also OR) or all (also AND): whether one or
	// every keyword and regex must match.
	Operator string `json:"operator,omitempty"`
	// Keywords are literal words or phrases.
	Keywords []string `json:"keywords,omitempty"`
	// Regexes are RE2 regular expressions (Go regexp syntax).
	Regexes []string `json:"regexes,omitempty"`
	// CaseSensitive makes keywords and regexes case-sensitive (default false).
	CaseSensitive bool `json:"caseSensitive,omitempty"`
	// WordBoundary makes a keyword match only as whole words (default true),
	// so "art" does not match "start". Regexes are not affected: use \b.
	WordBoundary *bool `json:"wordBoundary,omitempty"`
}

// applyDefaults normalises operators and fills WordBoundary.
func (p *Parameters) applyDefaults() {
	for i := range p.Rules {
		r := &p.Rules[i]
		switch strings.ToLower(r.Operator) {
		case "", OpAny, "or":
			r.Operator = OpAny
		case OpAll, "and":
			r.Operator = OpAll
		}
		if r.WordBoundary == nil {
			t := true
			r.WordBoundary = &t
		}
	}
}

// validate checks the parameters and compiles the regexes, so a bad pattern
// fails at start-up with the rule and pattern named.
func (p *Parameters) validate() ([][]*regexp.Regexp, error) {
	if len(p.Rules) == 0 {
		return nil, errors.New("rules: at least one rule is required")
	}
	var errs []error
	names := params.NewNames("rules")
	res := make([][]*regexp.Regexp, len(p.Rules))
	for i, r := range p.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if err := names.Check(i, r.Name); err != nil {
			errs = append(errs, err)
		}
		if r.Operator != OpAny && r.Operator != OpAll {
			errs = append(errs, fmt.Errorf("%s.operator: %q is not one of any (OR), all (AND)", path, r.Operator))
		}
		if len(r.Keywords) == 0 && len(r.Regexes) == 0 {
			errs = append(errs, fmt.Errorf("%s: a rule needs keywords or regexes", path))
		}
		for k, kw := range r.Keywords {
			if strings.TrimSpace(kw) == "" {
				errs = append(errs, fmt.Errorf("%s.keywords[%d]: must not be empty", path, k))
			}
		}
		for k, pat := range r.Regexes {
			if !r.CaseSensitive {
				pat = "(?i)" + pat
			}
			re, err := regexp.Compile(pat)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.regexes[%d]: not an RE2 expression: %w", path, k, err))
				continue
			}
			res[i] = append(res[i], re)
		}
	}
	return res, errors.Join(errs...)
}
