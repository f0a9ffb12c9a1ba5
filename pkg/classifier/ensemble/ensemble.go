// Package ensemble combines classifiers over the same label set into one:
// each member's probabilities are averaged in log space with fixed weights
// (a weighted geometric mean, renormalised), which is how the default
// classifier joins the shipped ONNX model and the linear model. A model
// directory declares its ensemble in ensemble.json (see pkg/classifier/loader
// and docs/classifier.md).
package ensemble

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// minProb bounds a member's probability away from zero before its log is
// taken, so one member's certainty cannot veto a label outright.
const minProb = 1e-9

// Member is one classifier of an ensemble and its weight.
type Member struct {
	// Name identifies the member in errors and logs (e.g. its model directory).
	Name       string
	Classifier classifier.Classifier
	// Weight is the member's share of the log-probability mean; > 0.
	Weight float64
}

// Classifier is an ensemble of classifiers. It is safe for concurrent use
// when its members are.
type Classifier struct {
	members []Member
	weights []float64 // normalised to sum 1
	// index[m][i] is the position in member m's scores of label i of Labels().
	index  [][]int
	labels []string
	refine *refinement // nil: none
}

var _ classifier.Classifier = (*Classifier)(nil)

// New checks the members (at least two, positive finite weights, equal
// label sets) and returns their ensemble. Labels() is the first member's
// label order; other members are aligned to it by name.
func New(members []Member) (*Classifier, error) {
	if len(members) < 2 {
		return nil, fmt.Errorf("ensemble: %d members, want at least 2", len(members))
	}
	var total float64
	for _, m := range members {
		if m.Classifier == nil {
			return nil, fmt.Errorf("ensemble: member %q has no classifier", m.Name)
		}
		if !(m.Weight > 0) || math.IsInf(m.Weight, 0) {
			return nil, fmt.Errorf("ensemble: member %q: weight %v, want a finite number > 0", m.Name, m.Weight)
		}
		total += m.Weight
	}
	labels := slices.Clone(members[0].Classifier.Labels())
	e := &Classifier{members: members, labels: labels}
	for _, m := range members {
		idx, err := align(labels, m.Classifier.Labels())
		if err != nil {
			return nil, fmt.Errorf("ensemble: member %q: %w", m.Name, err)
		}
		e.index = append(e.index, idx)
		e.weights = append(e.weights, m.Weight/total)
	}
	return e, nil
}

// align maps each of want's labels to its position in got.
func align(want, got []string) ([]int, error) {
	pos := make(map[string]int, len(got))
	for i, l := range got {
		pos[l] = i
	}
	var missing, extra []string
	idx := make([]int, len(want))
	for i, l := range want {
		j, ok := pos[l]
		if !ok {
			missing = append(missing, l)
		}
		idx[i] = j
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			extra = append(extra, l)
		}
	}
	if len(missing) > 0 || len(extra) > 0 || len(got) != len(want) {
		return nil, fmt.Errorf("label set differs from the first member's: missing %q, extra %q", missing, extra)
	}
	return idx, nil
}

// Labels returns the label set, in the first member's order.
func (e *Classifier) Labels() []string { return e.labels }

// Members returns the members, in order (for logs).
func (e *Classifier) Members() []Member { return e.members }

// Device is the first member's device when it reports one ("cpu", "cuda"),
// else "".
func (e *Classifier) Device() string { return classifier.DeviceOf(e.members[0].Classifier) }

// EmbeddingDim is the embedding length of the first member that yields
// embeddings (the ONNX model of the default ensemble), else 0.
func (e *Classifier) EmbeddingDim() int {
	for _, m := range e.members {
		if d := classifier.EmbeddingDimOf(m.Classifier); d > 0 {
			return d
		}
	}
	return 0
}

// Classify classifies text with every member, one after the other, and
// combines their scores.
func (e *Classifier) Classify(ctx context.Context, text string) (classifier.Result, error) {
	results := make([]classifier.Result, len(e.members))
	for m, mem := range e.members {
		// Members honour ctx themselves; checking between them also stops
		// members that answer without looking at it.
		if err := ctx.Err(); err != nil {
			return classifier.Result{}, err
		}
		r, err := mem.Classifier.Classify(ctx, text)
		if err != nil {
			return classifier.Result{}, fmt.Errorf("ensemble member %q: %w", mem.Name, err)
		}
		results[m] = r
	}
	out, err := e.combine(results)
	if err != nil || !e.unsure(out) {
		return out, err
	}
	return e.refineOne(ctx, text, results, out)
}

// ClassifyBatch classifies texts with each member's ClassifyBatch and
// combines the results text by text.
func (e *Classifier) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	per := make([][]classifier.Result, len(e.members))
	for m, mem := range e.members {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rs, err := mem.Classifier.ClassifyBatch(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("ensemble member %q: %w", mem.Name, err)
		}
		if len(rs) != len(texts) {
			return nil, fmt.Errorf("ensemble member %q: %d results for %d texts", mem.Name, len(rs), len(texts))
		}
		per[m] = rs
	}
	out := make([]classifier.Result, len(texts))
	results := make([]classifier.Result, len(e.members))
	for t := range texts {
		for m := range e.members {
			results[m] = per[m][t]
		}
		r, err := e.combine(results)
		if err != nil {
			return nil, err
		}
		out[t] = r
	}
	if e.refine == nil {
		return out, nil
	}
	return e.refineBatch(ctx, texts, per, out)
}

// combine returns softmax_i(Σ_m w_m · log max(p_m,i, minProb)), with the
// embedding of the first member that has one: combining embeddings of
// different models would mean nothing, and the ONNX member's is the one the
// similarity signal's examples were embedded with.
func (e *Classifier) combine(results []classifier.Result) (classifier.Result, error) {
	logits := make([]float64, len(e.labels))
	var truncated bool
	var embedding []float32
	for m, r := range results {
		if embedding == nil {
			embedding = r.Embedding
		}
		if len(r.Scores) != len(e.labels) {
			return classifier.Result{}, fmt.Errorf("ensemble member %q: %d scores for %d labels",
				e.members[m].Name, len(r.Scores), len(e.labels))
		}
		truncated = truncated || r.Truncated
		for i, j := range e.index[m] {
			logits[i] += e.weights[m] * math.Log(max(float64(r.Scores[j]), minProb))
		}
	}
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	top, sum := logits[best], 0.0
	for i, v := range logits {
		logits[i] = math.Exp(v - top)
		sum += logits[i]
	}
	scores := make([]float32, len(logits))
	for i, v := range logits {
		scores[i] = float32(v / sum)
	}
	return classifier.Result{Label: e.labels[best], Confidence: scores[best], Scores: scores, Truncated: truncated,
		Embedding: embedding}, nil
}

// Close closes every member and the refinement's classifier.
func (e *Classifier) Close() error {
	var errs []error
	if e.refine != nil {
		if err := e.refine.c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("ensemble refinement %q: %w", e.refine.name, err))
		}
	}
	for _, m := range e.members {
		if err := m.Classifier.Close(); err != nil {
			errs = append(errs, fmt.Errorf("ensemble member %q: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
}
