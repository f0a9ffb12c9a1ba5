package ensemble

import (
	"context"
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// Refinement has the texts on which an ensemble is unsure classified again
// by a more exact classifier standing in for one member: a fast GPU graph
// whose numerics differ a little from the CPU model's is exact enough on
// clear texts, and only near-ties, where those differences flip a label,
// pay for the exact graph.
type Refinement struct {
	// Member is the index of the member Classifier stands in for.
	Member int
	// Name identifies the classifier in errors and logs.
	Name       string
	Classifier classifier.Classifier
	// Margin: a result whose two highest probabilities are less than Margin
	// apart is combined again with Classifier's scores in place of the
	// member's. In (0, 1).
	Margin float64
}

type refinement struct {
	member int
	name   string
	c      classifier.Classifier
	margin float64
}

// refinements counts texts classified again by an ensemble's refinement.
// Label "outcome": "refined", or "failed" when the refinement's classifier
// returned an error and the ensemble's first result was kept.
var refinements = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "semantic_epp_classifier", Name: "ensemble_refinements_total",
	Help: "Texts an ensemble was unsure of and classified again with its refinement (outcome: refined, failed).",
}, []string{"outcome"})

// Collectors returns the ensemble's metrics.
func Collectors() []prometheus.Collector { return []prometheus.Collector{refinements} }

// SetRefinement adds r to e. r's classifier must have the member's labels
// in the member's order; e closes it with its members.
func (e *Classifier) SetRefinement(r Refinement) error {
	if r.Member < 0 || r.Member >= len(e.members) {
		return fmt.Errorf("ensemble refinement %q: member %d of %d", r.Name, r.Member, len(e.members))
	}
	if !(r.Margin > 0 && r.Margin < 1) {
		return fmt.Errorf("ensemble refinement %q: margin %v, want one in (0, 1)", r.Name, r.Margin)
	}
	if r.Classifier == nil {
		return fmt.Errorf("ensemble refinement %q: no classifier", r.Name)
	}
	if got, want := r.Classifier.Labels(), e.members[r.Member].Classifier.Labels(); !slices.Equal(got, want) {
		return fmt.Errorf("ensemble refinement %q: labels %q differ from member %q's %q", r.Name, got, e.members[r.Member].Name, want)
	}
	e.refine = &refinement{member: r.Member, name: r.Name, c: r.Classifier, margin: r.Margin}
	return nil
}

// unsure reports whether r is to be refined.
func (e *Classifier) unsure(r classifier.Result) bool {
	return e.refine != nil && topGap(r.Scores) < e.refine.margin
}

// topGap is the difference of the two highest scores.
func topGap(scores []float32) float64 {
	var a, b float32
	for _, s := range scores {
		switch {
		case s > a:
			a, b = s, a
		case s > b:
			b = s
		}
	}
	return float64(a - b)
}

// refineOne combines results again with the refinement's result for text.
// When the refinement fails (not for the caller's context) the first
// result stands: it is a valid classification, only a less exact one.
func (e *Classifier) refineOne(ctx context.Context, text string, results []classifier.Result, first classifier.Result) (classifier.Result, error) {
	r, err := e.refine.c.Classify(ctx, text)
	if err != nil {
		if ctx.Err() != nil {
			return classifier.Result{}, fmt.Errorf("ensemble refinement %q: %w", e.refine.name, err)
		}
		refinements.WithLabelValues("failed").Inc()
		return first, nil
	}
	refinements.WithLabelValues("refined").Inc()
	results = slices.Clone(results)
	results[e.refine.member] = r
	return e.combine(results)
}

// refineBatch refines the unsure results of out in one batch.
func (e *Classifier) refineBatch(ctx context.Context, texts []string, per [][]classifier.Result, out []classifier.Result) ([]classifier.Result, error) {
	var idx []int
	var again []string
	for t, r := range out {
		if e.unsure(r) {
			idx, again = append(idx, t), append(again, texts[t])
		}
	}
	if len(idx) == 0 {
		return out, nil
	}
	rs, err := e.refine.c.ClassifyBatch(ctx, again)
	if err == nil && len(rs) != len(again) {
		err = fmt.Errorf("%d results for %d texts", len(rs), len(again))
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ensemble refinement %q: %w", e.refine.name, err)
		}
		refinements.WithLabelValues("failed").Add(float64(len(idx)))
		return out, nil
	}
	refinements.WithLabelValues("refined").Add(float64(len(idx)))
	results := make([]classifier.Result, len(e.members))
	for k, t := range idx {
		for m := range e.members {
			results[m] = per[m][t]
		}
		results[e.refine.member] = rs[k]
		if out[t], err = e.combine(results); err != nil {
			return nil, err
		}
	}
	return out, nil
}
