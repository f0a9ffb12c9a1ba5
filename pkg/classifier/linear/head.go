package linear

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Head corrects the logits z of a text of n < GateWords words with the
// pooled lexicon scores u of its words (their mean and maximum):
//
//	z' = z + g·(BaseScale·z + Weights·u + Bias),  g = 1 − n/GateWords
//
// so a text of GateWords words or more gets the n-gram model unchanged, and
// the shorter a text, the more the teacher's knowledge of its words counts.
type Head struct {
	// GateWords is the length, in words, from which the head is off.
	GateWords int `json:"gateWords"`
	// BaseScale rescales the n-gram logits of short texts.
	BaseScale float32 `json:"baseScale"`
	// Weights maps the pooled lexicon scores to logits, numLabels rows of
	// 2·numLabels (mean pool, then max pool): Weights[l*2*numLabels+j] is
	// pooled score j's weight for label l.
	Weights []float32 `json:"weights"`
	// Bias shifts the logits of short texts (their prior differs).
	Bias []float32 `json:"bias"`
}

func (h *Head) validate(nl int) error {
	switch {
	case h.GateWords < 2 || h.GateWords > 1024:
		return fmt.Errorf("gateWords %d out of range [2, 1024]", h.GateWords)
	case len(h.Weights) != nl*pooled*nl || len(h.Bias) != nl:
		return fmt.Errorf("head has %d weights and %d biases, want %d and %d", len(h.Weights), len(h.Bias), nl*pooled*nl, nl)
	}
	for _, v := range append(append([]float32{h.BaseScale}, h.Weights...), h.Bias...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("head value %v is not finite", v)
		}
	}
	return nil
}

// gate is g for a text of n words.
func (h *Head) gate(n int) float32 {
	if n >= h.GateWords {
		return 0
	}
	return 1 - float32(n)/float32(h.GateWords)
}

// pooled is the number of lexicon pools the head reads per label: the mean
// and the maximum over the text's words.
const pooled = 2

// poolScores writes into u (pooled × numLabels values) the sum of the
// lexicon scores of the featurized words in s over the number of words
// (words outside the lexicon count as zero), then their maximum: zero when no
// word is in the lexicon, so such a text keeps the n-gram logits. The
// maximum keeps a rare telling word ("linux") from being averaged away.
func (lx *Lexicon) poolScores(s *scratch, u []float32) {
	clear(u)
	nl := lx.nl
	mean, mx := u[:nl], u[nl:2*nl]
	found := 0
	for i := range len(s.bounds) - 1 {
		j, ok := lx.index[lexKey(s.runes[s.bounds[i]:s.bounds[i+1]])]
		if !ok {
			continue
		}
		for l, v := range lx.vals[int(j)*nl : (int(j)+1)*nl] {
			mean[l] += float32(v)
			if found == 0 || float32(v) > mx[l] {
				mx[l] = float32(v)
			}
		}
		found++
	}
	if found > 0 {
		inv := lexiconScale / float32(len(s.bounds)-1)
		for l := range mean {
			mean[l] *= inv
			mx[l] *= lexiconScale
		}
	}
}

// apply corrects the logits z of the text featurized in s.
func (h *Head) apply(lx *Lexicon, s *scratch, z []float32) {
	g := h.gate(len(s.bounds) - 1)
	if g == 0 {
		return
	}
	var buf [pooled * 16]float32
	u := buf[:0]
	if pooled*len(z) > len(buf) {
		u = make([]float32, pooled*len(z))
	}
	u = u[:pooled*len(z)]
	lx.poolScores(s, u)
	h.correct(z, u, g)
}

func (h *Head) correct(z, u []float32, g float32) {
	nu := len(u)
	for l := range z {
		d := h.BaseScale*z[l] + h.Bias[l]
		for j, v := range u {
			d += h.Weights[l*nu+j] * v
		}
		z[l] += g * d
	}
}

// HeadOptions are the hyper-parameters of TrainWithLexicon's head (recorded
// in linear.json's training section).
type HeadOptions struct {
	// GateWords: see Head.
	GateWords int `json:"gateWords"`
	// Folds is the number of cross-fitting folds: the head learns from the
	// logits of n-gram models that did not see the text.
	Folds int `json:"folds"`
	// Crops is the number of random short crops taken of each training row.
	Crops int `json:"crops"`
	// SeenLimit keeps in the lexicon only the words that occur in at most
	// this many training rows (the n-gram model knows the others); < 0
	// keeps all.
	SeenLimit int `json:"seenLimit"`
	// Diagonal keeps each label's logit to its own lexicon scores (mean
	// and max): Weights is zero off its two diagonals.
	Diagonal bool `json:"diagonal"`
	// Offsets also learns BaseScale and Bias, which change short texts
	// that have no lexicon word too.
	Offsets bool `json:"offsets"`
	// Epochs, LearningRate (AdaGrad) and L2 fit the head.
	Epochs       int     `json:"epochs"`
	LearningRate float64 `json:"learningRate"`
	L2           float64 `json:"l2"`
}

// DefaultHeadOptions are the shipped model's head (`make linear-model`):
// among the settings whose lexicon holds only the words absent from
// train.jsonl (the family that routes the guide's Linux prompt), the best by
// cross-validation on train.jsonl's MMLU-Pro rows
// (docs/results/linear-short-prompts-2026-12-02b, trial 7).
func DefaultHeadOptions() HeadOptions {
	return HeadOptions{GateWords: 64, Folds: 4, Crops: 2, SeenLimit: 0, Diagonal: true, Epochs: 5, LearningRate: 0.2, L2: 1e-4}
}

// Validate reports an option out of range.
func (o HeadOptions) Validate() error {
	switch {
	case o.GateWords < 2 || o.GateWords > 1024:
		return fmt.Errorf("gate words %d out of range [2, 1024]", o.GateWords)
	case o.Folds < 2 || o.Folds > 20:
		return fmt.Errorf("folds %d out of range [2, 20]", o.Folds)
	case o.Crops < 0 || o.Crops > 100:
		return fmt.Errorf("crops %d out of range [0, 100]", o.Crops)
	case o.Epochs < 1 || o.Epochs > 1000:
		return fmt.Errorf("head epochs %d out of range [1, 1000]", o.Epochs)
	case !(o.LearningRate > 0 && o.LearningRate <= 100):
		return fmt.Errorf("head learning rate %v must be in (0, 100]", o.LearningRate)
	case !(o.L2 >= 0 && o.L2 < 1):
		return fmt.Errorf("head l2 %v must be in [0, 1)", o.L2)
	}
	return nil
}

// headSample is one text as the head sees it: the n-gram logits z of a
// model that did not train on it, its pooled lexicon scores u, its length n.
type headSample struct {
	z, u []float32
	n, y int
}

// foldSamples trains, for each of folds folds, an n-gram model (with base)
// on the other folds (rows are assigned by index), and calls each for every
// row of the held-out fold with that model and the row's word spans.
func foldSamples(ctx context.Context, labels []string, data []Example, base TrainOptions, folds int, lx *Lexicon, seenLimit int,
	each func(k, i int, fm *Model, flx *Lexicon, spans []span) error) error {
	var s scratch
	for k := range folds {
		var train []Example
		for i, e := range data {
			if i%folds != k {
				train = append(train, e)
			}
		}
		fm, err := Train(ctx, labels, train, withoutHook(base))
		if err != nil {
			return fmt.Errorf("fold %d: %w", k, err)
		}
		flx := lx.unseen(base.Features, train, seenLimit)
		for i := k; i < len(data); i += folds {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fm.feat.featurize(data[i].Text, &s)
			if err := each(k, i, fm, flx, append([]span(nil), s.spans...)); err != nil {
				return err
			}
		}
	}
	return nil
}

// sample featurizes text with fm and lx.
func sample(fm *Model, lx *Lexicon, text string, y int, s *scratch) headSample {
	nl := len(fm.labels)
	fm.feat.featurize(text, s)
	smp := headSample{z: make([]float32, nl), u: make([]float32, pooled*nl), n: len(s.bounds) - 1, y: y}
	fm.logits(s.idx, s.val, smp.z)
	lx.poolScores(s, smp.u)
	return smp
}

// cropSamples appends to out the samples of a row's random crops: crops
// spans of 1 to maxWords consecutive words (fewer than the row has), drawn
// with a generator seeded by the row's index.
func cropSamples(out []headSample, fm *Model, lx *Lexicon, e Example, i int, spans []span, crops, maxWords int, seed uint64, s *scratch) []headSample {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	for range crops {
		if len(spans) < 2 {
			break
		}
		n := 1 + r.IntN(min(maxWords, len(spans)-1))
		at := r.IntN(len(spans) - n + 1)
		out = append(out, sample(fm, lx, e.Text[spans[at].start:spans[at+n-1].end], e.Label, s))
	}
	return out
}

// headSamples builds the head's training samples from data: each row
// shorter than the gate, and opt.Crops random crops of each row shorter
// than the gate, with cross-fitted n-gram logits.
func headSamples(ctx context.Context, labels []string, data []Example, base TrainOptions, lx *Lexicon, opt HeadOptions) ([]headSample, error) {
	var out []headSample
	var s scratch
	err := foldSamples(ctx, labels, data, base, opt.Folds, lx, opt.SeenLimit, func(_, i int, fm *Model, lx *Lexicon, spans []span) error {
		e := data[i]
		if len(spans) < opt.GateWords {
			out = append(out, sample(fm, lx, e.Text, e.Label, &s))
		}
		out = cropSamples(out, fm, lx, e, i, spans, opt.Crops, opt.GateWords-1, base.Seed, &s)
		return nil
	})
	return out, err
}

func withoutHook(o TrainOptions) TrainOptions {
	o.OnEpoch = nil
	return o
}

// fitHead fits a head to samples by AdaGrad on the log-loss, in a fixed
// order per epoch (deterministic).
func fitHead(ctx context.Context, nl int, samples []headSample, opt HeadOptions, seed uint64) (*Head, error) {
	nu := pooled * nl
	h := &Head{GateWords: opt.GateWords, Weights: make([]float32, nl*nu), Bias: make([]float32, nl)}
	// Parameters and their AdaGrad accumulators, flattened: BaseScale, Weights, Bias.
	np := 1 + nl*nu + nl
	acc := make([]float64, np)
	lr, l2 := opt.LearningRate, opt.L2
	order := make([]int, len(samples))
	for i := range order {
		order[i] = i
	}
	z := make([]float32, nl)
	step := func(i int, g float64) {
		var p *float32
		switch {
		case i == 0:
			p = &h.BaseScale
		case i <= nl*nu:
			p = &h.Weights[i-1]
		default:
			p = &h.Bias[i-1-nl*nu]
		}
		g += l2 * float64(*p)
		acc[i] += g * g
		*p -= float32(lr * g / math.Sqrt(acc[i]+1e-8))
	}
	for epoch := 1; epoch <= opt.Epochs; epoch++ {
		rand.New(rand.NewPCG(seed, uint64(1000+epoch))).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for n, i := range order {
			if n%4096 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			smp := samples[i]
			g := h.gate(smp.n)
			if g == 0 {
				continue
			}
			copy(z, smp.z)
			h.correct(z, smp.u, g)
			softmax(z)
			z[smp.y]--
			// z is now dLoss/dz'; dz'/dθ = g·(z_l, u_j, 1).
			var gb float64
			for l, d := range z {
				gb += float64(d * smp.z[l])
			}
			if opt.Offsets {
				step(0, float64(g)*gb)
			}
			for l, d := range z {
				gd := float64(g * d)
				for j, v := range smp.u {
					if !opt.Diagonal || j%nl == l {
						step(1+l*nu+j, gd*float64(v))
					}
				}
				if opt.Offsets {
					step(1+nl*nu+l, gd)
				}
			}
		}
	}
	return h, h.validate(nl)
}

// TrainWithLexicon trains the n-gram model on data as Train does (the same
// weights), then the head that corrects short texts with lx.
func TrainWithLexicon(ctx context.Context, labels []string, data []Example, opt TrainOptions, lx *Lexicon, hopt HeadOptions) (*Model, error) {
	if lx == nil {
		return nil, errors.New("no lexicon")
	}
	if lx.nl != len(labels) {
		return nil, fmt.Errorf("lexicon has %d scores per word, the model %d labels", lx.nl, len(labels))
	}
	if err := hopt.Validate(); err != nil {
		return nil, err
	}
	samples, err := headSamples(ctx, labels, data, opt, lx, hopt)
	if err != nil {
		return nil, err
	}
	h, err := fitHead(ctx, len(labels), samples, hopt, opt.Seed)
	if err != nil {
		return nil, err
	}
	m, err := Train(ctx, labels, data, opt)
	if err != nil {
		return nil, err
	}
	m.lex, m.head = lx.unseen(opt.Features, data, hopt.SeenLimit), h
	return m, nil
}

// unseen returns the lexicon without the words that occur in more than
// limit rows of data (lx itself when limit < 0).
func (lx *Lexicon) unseen(f Features, data []Example, limit int) *Lexicon {
	if limit < 0 {
		return lx
	}
	rows := map[uint64]int{}
	var s scratch
	seen := map[uint64]bool{}
	for _, e := range data {
		f.featurize(e.Text, &s)
		clear(seen)
		for i := range len(s.bounds) - 1 {
			k := lexKey(s.runes[s.bounds[i]:s.bounds[i+1]])
			if _, ok := lx.index[k]; ok && !seen[k] {
				seen[k] = true
				rows[k]++
			}
		}
	}
	out := &Lexicon{Teacher: lx.Teacher, nl: lx.nl, index: map[uint64]int32{}}
	for i, w := range lx.words {
		k := lexKey([]rune(w))
		if rows[k] > limit {
			continue
		}
		out.index[k] = int32(len(out.words))
		out.words = append(out.words, w)
		out.vals = append(out.vals, lx.vals[i*lx.nl:(i+1)*lx.nl]...)
	}
	return out
}
