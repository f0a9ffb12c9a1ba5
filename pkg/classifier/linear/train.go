package linear

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/x448/float16"
)

// Example is one training row: a text and the index of its label.
type Example struct {
	Text  string
	Label int
}

// TrainOptions are the training hyper-parameters.
type TrainOptions struct {
	Features Features
	// Epochs is the number of passes over the data (each in a fresh order).
	Epochs int
	// LearningRate is AdaGrad's step size.
	LearningRate float64
	// L2 is the weight decay applied to the weights of each feature an
	// example has (the sparse form of an L2 penalty).
	L2 float64
	// Seed fixes the example order; the same data, options and seed give
	// bit-identical weights on a given GOARCH.
	Seed uint64
	// BalanceClasses weighs each example by n/(k·n_label), so every label
	// counts as much in the loss whatever its share of the data.
	BalanceClasses bool
	// OnEpoch, when set, is called after each epoch with the mean training
	// loss and the model as it stands. The model is only valid during the
	// call (training goes on updating it).
	OnEpoch func(epoch int, loss float64, m *Model)
}

// DefaultTrainOptions are the options of the shipped model, chosen on
// dev.jsonl (docs/classifier.md).
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Features: DefaultFeatures(), Epochs: 7, LearningRate: 0.2, L2: 1e-5, Seed: 1}
}

// TrainingInfo is recorded in linear.json to say how a model was made.
type TrainingInfo struct {
	Data           string  `json:"data,omitempty"`
	DataSHA256     string  `json:"dataSHA256,omitempty"`
	Rows           int     `json:"rows"`
	Epochs         int     `json:"epochs"`
	LearningRate   float64 `json:"learningRate"`
	L2             float64 `json:"l2"`
	Seed           uint64  `json:"seed"`
	BalanceClasses bool    `json:"balanceClasses,omitempty"`
	DevData        string  `json:"devData,omitempty"`
	DevAccuracy    float64 `json:"devAccuracy,omitempty"`
	DevMacroF1     float64 `json:"devMacroF1,omitempty"`
	// Head is how the lexicon head was fitted, when the model has one.
	Head *HeadOptions `json:"head,omitempty"`
}

// Validate reports an option out of range.
func (o TrainOptions) Validate() error {
	switch {
	case o.Epochs < 1 || o.Epochs > 1000:
		return fmt.Errorf("epochs %d out of range [1, 1000]", o.Epochs)
	case !(o.LearningRate > 0 && o.LearningRate <= 100):
		return fmt.Errorf("learning rate %v must be in (0, 100]", o.LearningRate)
	case !(o.L2 >= 0 && o.L2 < 1):
		return fmt.Errorf("l2 %v must be in [0, 1)", o.L2)
	}
	return o.Features.Validate()
}

// Train fits a model on data, whose labels index labels. It runs on one
// goroutine so that its result is deterministic, and stops early with the
// context's error.
func Train(ctx context.Context, labels []string, data []Example, opt TrainOptions) (*Model, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	nl := len(labels)
	if nl < 2 {
		return nil, errors.New("need at least 2 labels")
	}
	if len(data) == 0 {
		return nil, errors.New("no training data")
	}
	counts := make([]int, nl)
	for i, e := range data {
		if e.Label < 0 || e.Label >= nl {
			return nil, fmt.Errorf("example %d: label index %d out of range [0, %d)", i, e.Label, nl)
		}
		counts[e.Label]++
	}
	cw := make([]float32, nl)
	for l := range cw {
		cw[l] = 1
		if opt.BalanceClasses && counts[l] > 0 {
			cw[l] = float32(len(data)) / float32(nl*counts[l])
		}
	}

	// Featurize once.
	f := opt.Features
	var s scratch
	start := make([]int, len(data)+1)
	var idx []uint32
	var val []float32
	for i, e := range data {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		f.featurize(e.Text, &s)
		idx = append(idx, s.idx...)
		val = append(val, s.val...)
		start[i+1] = len(idx)
	}

	m := newModel(append([]string(nil), labels...), f)
	// wa interleaves each bucket's weights with their AdaGrad accumulators
	// (nl weights, then nl accumulators) so an update touches one place in
	// memory; m.w is filled from it after each epoch.
	wa := make([]float32, 2*f.Buckets()*nl)
	gb := make([]float32, nl)
	lr, l2 := float32(opt.LearningRate), float32(opt.L2)
	const eps = 1e-8
	order := make([]int, len(data))
	for i := range order {
		order[i] = i
	}
	p := make([]float32, nl)
	g := make([]float32, nl)
	for epoch := 1; epoch <= opt.Epochs; epoch++ {
		rand.New(rand.NewPCG(opt.Seed, uint64(epoch))).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var loss float64
		for n, i := range order {
			if n%1024 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			xi, xv := idx[start[i]:start[i+1]], val[start[i]:start[i+1]]
			y := data[i].Label
			copy(p, m.bias)
			for k, b := range xi {
				row := wa[2*int(b)*nl : 2*int(b)*nl+nl]
				for l, w := range row {
					p[l] += xv[k] * w
				}
			}
			softmax(p)
			loss -= float64(cw[y]) * math.Log(max(float64(p[y]), 1e-12))
			for l := range g {
				g[l] = p[l] * cw[y]
			}
			g[y] -= cw[y]
			for l, gl := range g {
				gb[l] += gl * gl
				m.bias[l] -= lr * gl / float32(math.Sqrt(float64(gb[l])+eps))
			}
			for k, b := range xi {
				row := wa[2*int(b)*nl : 2*int(b)*nl+nl]
				acc := wa[2*int(b)*nl+nl : 2*int(b)*nl+2*nl]
				v := xv[k]
				for l, gl := range g {
					d := gl*v + l2*row[l]
					acc[l] += d * d
					row[l] -= lr * d / float32(math.Sqrt(float64(acc[l])+eps))
				}
			}
		}
		for b := range f.Buckets() {
			copy(m.row(b), wa[2*b*nl:])
		}
		if opt.OnEpoch != nil {
			opt.OnEpoch(epoch, loss/float64(len(data)), m)
		}
	}
	// Round through float16 so the returned model is the one Save writes.
	for i, v := range m.w {
		m.w[i] = float16.Fromfloat32(v).Float32()
	}
	for i, v := range m.bias {
		m.bias[i] = float16.Fromfloat32(v).Float32()
	}
	return m, nil
}
