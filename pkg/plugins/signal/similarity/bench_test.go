//go:build cgo

package similarity

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/domain"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// benchText returns a prompt of exactly n tokens for the embedded model.
func benchText(b *testing.B, n int) string {
	b.Helper()
	fsys, err := models.ONNX()
	if err != nil {
		b.Fatal(err)
	}
	c, err := onnx.Load(context.Background(), onnx.Options{IntraOpThreads: 1}, fsys)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	words := []string{"what", "is", "the", "derivative", "of", "a", "polynomial", "function"}
	parts := make([]string, 0, n)
	for i := 0; i < n-2; i++ { // [CLS] and [SEP]
		parts = append(parts, words[i%len(words)])
	}
	text := strings.Join(parts, " ")
	if enc, _ := c.Encode(text); len(enc.IDs) != n {
		b.Fatalf("text encodes to %d tokens, want %d", len(enc.IDs), n)
	}
	return text
}

// BenchmarkDomainVsSimilarity is issue 14's target: a request that uses the
// domain and the similarity signal (14 routes of 20 train.jsonl examples,
// over the default classifier, no result cache) against the domain signal
// alone, at 128 tokens on the CPU. Each iteration runs both, one after the
// other (in alternating order) on fresh requests, so machine load drifts
// alike for the two;
// ratio-p50 is the median of the per-iteration time ratios (target <= 1.10).
func BenchmarkDomainVsSimilarity(b *testing.B) {
	if err := onnx.Available("", ""); err != nil {
		b.Skipf("libonnxruntime is not available (run `make onnxruntime`): %v", err)
	}
	train := readJSONL(b, sharedTrain)
	clf, err := loader.Load(context.Background(), classifier.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = clf.Close() }()
	examples := examplesPerLabel(train, clf.Labels(), 20)
	var p Parameters
	for _, l := range clf.Labels() {
		th := 0.9
		p.Routes = append(p.Routes, Route{Name: l, Examples: examples[l], Threshold: &th})
	}
	sim, err := New(context.Background(), "similarity", clf, p)
	if err != nil {
		b.Fatal(err)
	}
	dom := domain.New("domain", clf, 0)
	text := benchText(b, 128)
	eval := func(signals ...selection.Signal) time.Duration {
		req := &selection.Request{Text: text, Signals: map[string]selection.SignalResult{}}
		start := time.Now()
		for _, s := range signals {
			res, err := s.Evaluate(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			req.Signals[s.TypedName().Name] = res
		}
		return time.Since(start)
	}
	eval(dom, sim) // warm-up
	// Per-iteration pairs: the medians resist the bursts of a shared machine
	// better than sums do.
	// The order alternates, so neither gains from running second.
	var alone, both []float64
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			alone = append(alone, float64(eval(dom).Nanoseconds()))
			both = append(both, float64(eval(dom, sim).Nanoseconds()))
		} else {
			both = append(both, float64(eval(dom, sim).Nanoseconds()))
			alone = append(alone, float64(eval(dom).Nanoseconds()))
		}
	}
	ratios := make([]float64, len(alone))
	for i := range alone {
		ratios[i] = both[i] / alone[i]
	}
	b.ReportMetric(median(alone)/1e6, "domain-p50-ms")
	b.ReportMetric(median(both)/1e6, "domain+similarity-p50-ms")
	b.ReportMetric(median(ratios), "ratio-p50")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkScores is the similarity signal's own work per request once the
// embedding is there: 14 routes of 20 examples, 384 dimensions.
func BenchmarkScores(b *testing.B) {
	const routes, per, dim = 14, 20, 384
	s := &Signal{dim: dim}
	for r := range routes {
		rt := route{aggregation: AggMax}
		for e := range per {
			v := make([]float32, dim)
			v[(r*per+e)%dim] = 1
			rt.examples = append(rt.examples, v)
		}
		s.routes = append(s.routes, rt)
	}
	emb := make([]float32, dim)
	for i := range emb {
		emb[i] = 1 / float32(dim)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.scores(emb)
	}
}
