package linear

import (
	"context"
	"fmt"
)

// HeadCVPrefixes are the prefix lengths, in words, CrossValidateHead scores.
var HeadCVPrefixes = []int{3, 5, 8, 12}

// HeadCVResult is one head setting's cross-validated accuracy.
type HeadCVResult struct {
	Options HeadOptions
	// Full is the accuracy on whole rows, Prefix[i] on each row's first
	// HeadCVPrefixes[i] words (rows longer than that).
	Full   float64
	Prefix []float64
}

type cvSample struct {
	headSample
	crop int // -1: the whole row; else the crop's index
}

// CrossValidateHead scores head settings by folds-fold cross-validation on
// data: each fold's rows are scored by an n-gram model and a head trained
// on the other folds. The first result is the n-gram model alone (no head).
// Every setting's Crops and GateWords must be at most crops and maxGate.
//
// scored, when not nil, says which rows are scored (all rows still train).
func CrossValidateHead(ctx context.Context, labels []string, data []Example, scored []bool, base TrainOptions, lx *Lexicon, folds, crops, maxGate, seenLimit int, grid []HeadOptions) ([]HeadCVResult, error) {
	train := make([][]cvSample, folds)
	type evalSample struct {
		headSample
		prefix int // -1: the whole row; else the index in HeadCVPrefixes
	}
	eval := make([][]evalSample, folds)
	var s scratch
	err := foldSamples(ctx, labels, data, base, folds, lx, seenLimit, func(k, i int, fm *Model, lx *Lexicon, spans []span) error {
		e := data[i]
		full := sample(fm, lx, e.Text, e.Label, &s)
		train[k] = append(train[k], cvSample{full, -1})
		for c, smp := range cropSamples(nil, fm, lx, e, i, spans, crops, maxGate-1, base.Seed, &s) {
			train[k] = append(train[k], cvSample{smp, c})
		}
		if scored != nil && !scored[i] {
			return nil
		}
		eval[k] = append(eval[k], evalSample{full, -1})
		for p, n := range HeadCVPrefixes {
			if len(spans) > n {
				eval[k] = append(eval[k], evalSample{sample(fm, lx, e.Text[:spans[n-1].end], e.Label, &s), p})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	nl := len(labels)
	score := func(opt *HeadOptions) (HeadCVResult, error) {
		var right, total [8]int // index 0: whole rows, 1+p: prefixes
		for k := range folds {
			var h *Head
			if opt != nil {
				var fit []headSample
				for j := range folds {
					if j == k {
						continue
					}
					for _, smp := range train[j] {
						if smp.crop < opt.Crops && smp.n < opt.GateWords {
							fit = append(fit, smp.headSample)
						}
					}
				}
				var err error
				if h, err = fitHead(ctx, nl, fit, *opt, base.Seed); err != nil {
					return HeadCVResult{}, err
				}
			}
			z := make([]float32, nl)
			for _, smp := range eval[k] {
				copy(z, smp.z)
				if h != nil {
					if g := h.gate(smp.n); g > 0 {
						h.correct(z, smp.u, g)
					}
				}
				best := 0
				for l, v := range z {
					if v > z[best] {
						best = l
					}
				}
				b := 1 + smp.prefix
				total[b]++
				if best == smp.y {
					right[b]++
				}
			}
		}
		r := HeadCVResult{Full: float64(right[0]) / float64(total[0])}
		if opt != nil {
			r.Options = *opt
		}
		for p := range HeadCVPrefixes {
			r.Prefix = append(r.Prefix, float64(right[1+p])/float64(max(1, total[1+p])))
		}
		return r, nil
	}
	r0, err := score(nil)
	if err != nil {
		return nil, err
	}
	out := []HeadCVResult{r0}
	for _, opt := range grid {
		if opt.Crops > crops || opt.GateWords > maxGate {
			return nil, fmt.Errorf("head setting %+v exceeds crops %d / gate %d", opt, crops, maxGate)
		}
		if err := opt.Validate(); err != nil {
			return nil, err
		}
		r, err := score(&opt)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
