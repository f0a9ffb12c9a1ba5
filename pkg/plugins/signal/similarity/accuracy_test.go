//go:build cgo

package similarity

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

const (
	sharedTrain = "../../../../../shared/data/domain/train.jsonl"
	sharedDev   = "../../../../../shared/data/domain/dev.jsonl"
	// accuracySeed fixes which train.jsonl rows become a category's examples.
	accuracySeed = 14
)

type row struct {
	Text  string `json:"text"`
	Label string `json:"label"`
}

func readJSONL(t testing.TB, path string) []row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("the shared data folder is missing (%v): it is expected at ../shared/data beside the repository", err)
	}
	defer func() { _ = f.Close() }()
	var rows []row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, len(rows)+1, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// examplesPerLabel draws k train rows of each label, in label order, with a
// fixed seed.
func examplesPerLabel(train []row, labels []string, k int) map[string][]string {
	byLabel := map[string][]string{}
	for _, r := range train {
		byLabel[r.Label] = append(byLabel[r.Label], r.Text)
	}
	rng := rand.New(rand.NewPCG(accuracySeed, uint64(k)))
	out := map[string][]string{}
	for _, l := range labels {
		texts := slices.Clone(byLabel[l])
		rng.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
		out[l] = texts[:min(k, len(texts))]
	}
	return out
}

// TestSimilarityAccuracy measures the similarity signal as a domain
// classifier on dev.jsonl: one route per category whose examples are k
// train.jsonl questions of it (fixed seed), the predicted category being the
// route with the highest aggregated score (nearest route). Recorded in
// docs/results/similarity-2026-12-02/. The floors are far below the
// measured numbers: they catch a broken embedding, not a weaker one.
func TestSimilarityAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: classifies all of dev.jsonl")
	}
	if err := onnx.Available("", ""); err != nil {
		t.Skipf("skipped: libonnxruntime is not available (run `make onnxruntime`): %v", err)
	}
	train, dev := readJSONL(t, sharedTrain), readJSONL(t, sharedDev)
	off := false
	params, _ := json.Marshal(onnx.Params{Ensemble: &off}) // the embedding is the ONNX model's either way
	clf, err := loader.Load(context.Background(), classifier.Config{Backend: classifier.BackendONNX, Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = clf.Close() }()
	// Embedded shortest first: batches of similar lengths pad little.
	slices.SortStableFunc(dev, func(a, b row) int { return len(a.Text) - len(b.Text) })
	texts := make([]string, len(dev))
	for i, r := range dev {
		texts[i] = r.Text
	}
	embs, err := embed(context.Background(), clf, texts, classifier.EmbeddingDimOf(clf))
	if err != nil {
		t.Fatal(err)
	}
	floors := map[int]float64{5: 0.75, 20: 0.75}
	for _, k := range []int{5, 20} {
		examples := examplesPerLabel(train, clf.Labels(), k)
		for _, agg := range []string{AggMax, AggMean} {
			var p Parameters
			for _, l := range clf.Labels() {
				zero := 0.0
				p.Routes = append(p.Routes, Route{Name: l, Examples: examples[l], Threshold: &zero, Aggregation: agg})
			}
			s, err := New(context.Background(), "sim", clf, p)
			if err != nil {
				t.Fatal(err)
			}
			right := 0
			var own, other []float64 // the true route's score, the best other route's
			for i, e := range embs {
				sc := s.scores(e)
				if s.routes[argmax(sc)].name == dev[i].Label {
					right++
				}
				best := float32(-1)
				for j, r := range s.routes {
					if r.name == dev[i].Label {
						own = append(own, float64(sc[j]))
					} else {
						best = max(best, sc[j])
					}
				}
				other = append(other, float64(best))
			}
			acc := float64(right) / float64(len(dev))
			t.Logf("similarity signal, %2d examples per category, aggregation %-4s: nearest-route accuracy %.4f on %d dev rows; "+
				"score of the question's own route p10/p50 %.3f/%.3f, of the best other route p50/p90 %.3f/%.3f",
				k, agg, acc, len(dev), quantile(own, 0.1), quantile(own, 0.5), quantile(other, 0.5), quantile(other, 0.9))
			if acc < floors[k] {
				t.Errorf("k=%d %s: accuracy %.4f < %.2f", k, agg, acc, floors[k])
			}
		}
	}
}

func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
