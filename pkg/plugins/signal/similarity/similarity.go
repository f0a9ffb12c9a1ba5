// Package similarity implements the similarity-signal plugin: named routes,
// each described by a few example prompts, that a request matches when its
// sentence embedding is close enough (cosine) to the route's examples. The
// embeddings come from a classifier whose model has an embedding output (the
// embedded default does): the examples are embedded once at start-up, and a
// request reads the embedding of the very classification the domain signal
// uses when both share the classifier, so the two signals cost one encoder
// pass. Decisions match `{signal: <plugin name>, name: <route>}`. See
// README.md.
package similarity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	classifierplugin "github.com/semantic-epp/semantic-epp/pkg/plugins/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/internal/params"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// Type is the plugin type name used in EndpointPickerConfig.
const Type = "similarity-signal"

// exampleBatch is how many examples one start-up ClassifyBatch call embeds.
const exampleBatch = 32

// ErrNoEmbedding is wrapped by the start-up error of a signal whose
// classifier yields no embedding.
var ErrNoEmbedding = errors.New("the classifier yields no sentence embedding")

var _ selection.Signal = &Signal{}

// Signal is the similarity-signal plugin.
type Signal struct {
	typedName fwkplugin.TypedName
	clf       classifier.Classifier
	dim       int
	routes    []route
}

// route is a validated route with its examples' embeddings.
type route struct {
	name        string
	threshold   float32
	aggregation string
	examples    [][]float32 // unit vectors of length dim
}

// Factory builds the plugin: parameters decoded strictly, the classifier
// looked up by classifierRef, the examples embedded.
func Factory(name string, raw json.RawMessage, h fwkplugin.Handle) (fwkplugin.Plugin, error) {
	var p Parameters
	if err := params.Decode(raw, &p); err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	p.applyDefaults()
	if err := p.validate(true); err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	clf, err := classifierplugin.Lookup(h, p.ClassifierRef)
	if err != nil {
		return nil, fmt.Errorf("%s %q: classifierRef: %w", Type, name, err)
	}
	ctx := context.Background()
	if h.Context() != nil {
		ctx = h.Context()
	}
	s, err := New(ctx, name, clf, p)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", Type, name, err)
	}
	return s, nil
}

// New builds the signal over clf from typed parameters: defaults,
// validation (classifierRef is not needed here), then every example
// embedded, in batches.
func New(ctx context.Context, name string, clf classifier.Classifier, p Parameters) (*Signal, error) {
	p.applyDefaults()
	if err := p.validate(false); err != nil {
		return nil, err
	}
	if clf == nil {
		return nil, errors.New("no classifier")
	}
	dim := classifier.EmbeddingDimOf(clf)
	if dim == 0 {
		return nil, fmt.Errorf("classifierRef %q: %w: its model needs an embedding output "+
			"(onnx or auto backend, embeddingOutput; the embedded default has one, docs/model-card.md). "+
			"The linear backend has none, nor has auto when it fell back to linear because ONNX Runtime "+
			"is missing, nor a GPU graph built before the output existed (rebuild it: make model-gpu)",
			p.ClassifierRef, ErrNoEmbedding)
	}
	s := &Signal{typedName: fwkplugin.TypedName{Type: Type, Name: name}, clf: clf, dim: dim}
	var texts []string
	for _, r := range p.Routes {
		texts = append(texts, r.Examples...)
	}
	embs, err := embed(ctx, clf, texts, dim)
	if err != nil {
		return nil, fmt.Errorf("embedding the examples: %w", err)
	}
	for _, r := range p.Routes {
		s.routes = append(s.routes, route{name: r.Name, threshold: float32(*r.Threshold),
			aggregation: r.Aggregation, examples: embs[:len(r.Examples)]})
		embs = embs[len(r.Examples):]
	}
	return s, nil
}

// embed returns the embeddings of texts, exampleBatch at a time.
func embed(ctx context.Context, clf classifier.Classifier, texts []string, dim int) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += exampleBatch {
		rs, err := clf.ClassifyBatch(ctx, texts[i:min(i+exampleBatch, len(texts))])
		if err != nil {
			return nil, err
		}
		for j, r := range rs {
			if len(r.Embedding) != dim {
				return nil, fmt.Errorf("example %q: embedding of length %d, want %d", texts[i+j], len(r.Embedding), dim)
			}
			out = append(out, r.Embedding)
		}
	}
	return out, nil
}

// TypedName returns the plugin's type and name.
func (s *Signal) TypedName() fwkplugin.TypedName { return s.typedName }

// Classifier is the classifier whose embeddings the signal reads.
func (s *Signal) Classifier() classifier.Classifier { return s.clf }

// Names are the route names: the names a decision leaf may match.
func (s *Signal) Names() []string {
	names := make([]string, len(s.routes))
	for i, r := range s.routes {
		names[i] = r.name
	}
	return names
}

// Evaluate scores req.Text against every route. Matches holds each route
// whose score reaches its threshold, with the score. The embedding is the one
// of req's classification by the signal's classifier, made once per request
// (selection.Request.Classify); Duration includes that classification only
// when this signal ran it. A request without text matches nothing.
func (s *Signal) Evaluate(ctx context.Context, req *selection.Request) (selection.SignalResult, error) {
	if req == nil {
		return selection.SignalResult{}, fmt.Errorf("%s %q: nil request", Type, s.typedName.Name)
	}
	if req.Text == "" {
		return selection.SignalResult{}, nil
	}
	start := time.Now()
	cl := req.Classify(ctx, s.clf)
	if cl.Err != nil {
		return selection.SignalResult{}, fmt.Errorf("%s %q: %w", Type, s.typedName.Name, cl.Err)
	}
	emb := cl.Result.Embedding
	if len(emb) != s.dim {
		return selection.SignalResult{}, fmt.Errorf("%s %q: the classifier returned an embedding of length %d, want %d",
			Type, s.typedName.Name, len(emb), s.dim)
	}
	res := selection.SignalResult{Truncated: cl.Result.Truncated}
	for i, sc := range s.scores(emb) {
		if r := s.routes[i]; sc >= r.threshold {
			if res.Matches == nil {
				res.Matches = make(map[string]float32, 2)
			}
			res.Matches[r.name] = sc
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// scores returns each route's aggregated cosine with the unit vector emb.
func (s *Signal) scores(emb []float32) []float32 {
	out := make([]float32, len(s.routes))
	for i, r := range s.routes {
		var best, sum float32 = -1, 0
		for _, ex := range r.examples {
			c := dot(emb, ex)
			best = max(best, c)
			sum += c
		}
		if r.aggregation == AggMean {
			out[i] = sum / float32(len(r.examples))
		} else {
			out[i] = best
		}
	}
	return out
}

// dot is the dot product of two vectors of equal length: their cosine, for
// unit vectors. Four accumulators let the CPU overlap the additions.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
