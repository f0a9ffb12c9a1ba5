package similarity

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/internal/params"
)

// Aggregations: how a route's example cosines become its score. They are
// vLLM Semantic Router's aggregation_method values.
const (
	// AggMax scores a route by its closest example (the default).
	AggMax = "max"
	// AggMean scores a route by the mean cosine over its examples.
	AggMean = "mean"
	// AggAny matches a route when any example reaches the threshold, which is
	// max's condition; its score is the closest example's cosine, as max's.
	AggAny = "any"
)

// Parameters are the plugin parameters.
type Parameters struct {
	// ClassifierRef names the `classifier` plugin (declared earlier) whose
	// embeddings the signal compares. Sharing the domain signal's classifier
	// makes a request pay for one encoder pass for both signals.
	ClassifierRef string `json:"classifierRef"`
	// Routes are the named example sets; a request matches every route whose
	// score reaches its threshold.
	Routes []Route `json:"routes"`
}

// Route is one named set of example prompts.
type Route struct {
	// Name is what the signal reports when the route matches (the name a
	// decision leaf matches).
	Name string `json:"name"`
	// Threshold is the score (a cosine, 0..1) at or above which the route
	// matches. Required: a cosine scale belongs to one encoder, so no
	// default fits every route.
	Threshold *float64 `json:"threshold"`
	// Aggregation is max (default), mean or any.
	Aggregation string `json:"aggregation,omitempty"`
	// Examples are prompts that belong to the route, embedded once at
	// start-up (vLLM Semantic Router's candidates).
	Examples []string `json:"examples"`
}

// Check applies the defaults to a copy of p and validates it as the factory
// does, without a classifier (bin/vsr-import checks what it writes with it).
func Check(p Parameters) error {
	p.Routes = append([]Route(nil), p.Routes...)
	p.applyDefaults()
	return p.validate(true)
}

// applyDefaults fills Aggregation and lower-cases it.
func (p *Parameters) applyDefaults() {
	for i := range p.Routes {
		r := &p.Routes[i]
		r.Aggregation = strings.ToLower(strings.TrimSpace(r.Aggregation))
		if r.Aggregation == "" {
			r.Aggregation = AggMax
		}
	}
}

// validate reports every invalid field, naming it; withRef also checks
// classifierRef (New takes the classifier itself).
func (p *Parameters) validate(withRef bool) error {
	var errs []error
	if withRef && strings.TrimSpace(p.ClassifierRef) == "" {
		errs = append(errs, errors.New("classifierRef: required (the name of a classifier plugin whose model has an embedding output)"))
	}
	if len(p.Routes) == 0 {
		errs = append(errs, errors.New("routes: at least one route is required"))
	}
	names := params.NewNames("routes")
	for i, r := range p.Routes {
		path := fmt.Sprintf("routes[%d]", i)
		if err := names.Check(i, r.Name); err != nil {
			errs = append(errs, err)
		}
		if len(r.Examples) == 0 {
			errs = append(errs, fmt.Errorf("%s.examples: at least one example prompt is required", path))
		}
		for k, ex := range r.Examples {
			if strings.TrimSpace(ex) == "" {
				errs = append(errs, fmt.Errorf("%s.examples[%d]: must not be empty", path, k))
			}
		}
		switch {
		case r.Threshold == nil:
			errs = append(errs, fmt.Errorf("%s.threshold: required (a cosine in [0, 1]; see the README for how to pick one)", path))
		case math.IsNaN(*r.Threshold) || *r.Threshold < 0 || *r.Threshold > 1:
			errs = append(errs, fmt.Errorf("%s.threshold: %v is outside [0, 1]", path, *r.Threshold))
		}
		switch r.Aggregation {
		case AggMax, AggMean, AggAny:
		default:
			errs = append(errs, fmt.Errorf("%s.aggregation: %q is not one of %s, %s, %s", path, r.Aggregation, AggMax, AggMean, AggAny))
		}
	}
	return errors.Join(errs...)
}
