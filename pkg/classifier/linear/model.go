// Package linear is the pure-Go classifier backend: hashed word and character
// n-gram features and a multinomial logistic regression over them. It needs
// no native library, loads in milliseconds, classifies a prompt in tens of
// microseconds and trains in seconds (see Train and `classify train`).
//
// The model directory format and the training procedure are described in
// docs/classifier.md ("Linear backend").
package linear

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// Model is a trained linear classifier. It is safe for concurrent use.
type Model struct {
	labels []string
	feat   Features
	// w holds the weights bucket-major, one row of stride values per bucket
	// (row(b)[l] is the weight of bucket b for label l). stride pads the
	// row to a power of two up to 16 floats, then to multiples of 16, so
	// that a row never straddles two 64-byte cache lines: classification
	// is bound by fetching one random row per feature.
	w      []float32
	stride int
	bias   []float32
	// lex and head, when set, correct the logits of short texts (lexicon.go).
	lex    *Lexicon
	head   *Head
	pool   sync.Pool
	closed atomic.Bool
}

var _ classifier.Classifier = (*Model)(nil)

// newModel returns a model with zero weights.
func newModel(labels []string, feat Features) *Model {
	nl := len(labels)
	stride := 1
	for stride < min(nl, 16) {
		stride <<= 1
	}
	if nl > 16 {
		stride = (nl + 15) &^ 15
	}
	m := &Model{labels: labels, feat: feat, stride: stride,
		w: make([]float32, feat.Buckets()*stride), bias: make([]float32, nl)}
	m.pool.New = func() any { return new(scratch) }
	return m
}

// row returns the weights of bucket b, one per label.
func (m *Model) row(b int) []float32 { return m.w[b*m.stride : b*m.stride+len(m.labels)] }

// Labels returns the label set in score order.
func (m *Model) Labels() []string { return append([]string(nil), m.labels...) }

// Features returns the featurizer settings the model was trained with.
func (m *Model) Features() Features { return m.feat }

// Classify classifies one text. Any string gives a result: invalid UTF-8
// bytes and control characters separate words like punctuation does, a text
// longer than HeadWords+TailWords words is windowed (Result.Truncated), and a
// text without any word (empty, only punctuation or whitespace) gets the
// model's prior: the softmax of the label biases, the same for every such
// text. The only errors are a done context and ErrClosed.
func (m *Model) Classify(ctx context.Context, text string) (classifier.Result, error) {
	if m.closed.Load() {
		return classifier.Result{}, classifier.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return classifier.Result{}, err
	}
	s := m.pool.Get().(*scratch)
	defer m.pool.Put(s)
	truncated := m.feat.featurize(text, s)
	r := classifier.Result{Scores: make([]float32, len(m.labels)), Truncated: truncated}
	m.logits(s.idx, s.val, r.Scores)
	if m.head != nil {
		m.head.apply(m.lex, s, r.Scores)
	}
	softmax(r.Scores)
	best := 0
	for i, p := range r.Scores {
		if p > r.Scores[best] {
			best = i
		}
	}
	r.Label, r.Confidence = m.labels[best], r.Scores[best]
	return r, nil
}

// ClassifyBatch classifies texts one after the other (the model is fast
// enough that batching gains nothing); it stops at the first error.
func (m *Model) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	out := make([]classifier.Result, len(texts))
	for i, t := range texts {
		r, err := m.Classify(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// Close marks the model closed; later calls return classifier.ErrClosed.
func (m *Model) Close() error {
	m.closed.Store(true)
	return nil
}

// logits writes bias + W·x into out.
func (m *Model) logits(idx []uint32, val []float32, out []float32) {
	copy(out, m.bias)
	for i, b := range idx {
		row := m.row(int(b))
		v := val[i]
		for l := range out {
			out[l] += v * row[l]
		}
	}
}

func softmax(z []float32) {
	mx := z[0]
	for _, v := range z[1:] {
		mx = max(mx, v)
	}
	var sum float32
	for i, v := range z {
		e := float32(math.Exp(float64(v - mx)))
		z[i] = e
		sum += e
	}
	for i := range z {
		z[i] /= sum
	}
}

func (m *Model) String() string {
	if m.head != nil {
		return fmt.Sprintf("linear model: %d labels, 2^%d buckets, lexicon of %d words below %d words", len(m.labels), m.feat.BucketsLog2, m.lex.Len(), m.head.GateWords)
	}
	return fmt.Sprintf("linear model: %d labels, 2^%d buckets", len(m.labels), m.feat.BucketsLog2)
}
