package ensemble

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// fixed is a classifier that returns the same probabilities for every text.
type fixed struct {
	labels    []string
	scores    []float32
	embedding []float32
	truncated bool
	err       error
	closeErr  error
	closed    bool
}

func (f *fixed) Labels() []string { return f.labels }
func (f *fixed) Classify(_ context.Context, text string) (classifier.Result, error) {
	if f.err != nil {
		return classifier.Result{}, f.err
	}
	return classifier.Result{Scores: f.scores, Truncated: f.truncated && text != "", Embedding: f.embedding}, nil
}
func (f *fixed) EmbeddingDim() int { return len(f.embedding) }
func (f *fixed) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	out := make([]classifier.Result, len(texts))
	for i, t := range texts {
		r, err := f.Classify(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}
func (f *fixed) Close() error { f.closed = true; return f.closeErr }

func TestCombine(t *testing.T) {
	ab := []string{"a", "b"}
	// Hand-computed: weights 0.5/0.5 of log(0.8,0.2) and log(0.4,0.6):
	// a ∝ sqrt(0.32)=0.5657, b ∝ sqrt(0.12)=0.3464 -> a 0.6202, b 0.3798.
	// With weights 3:1: a ∝ 0.8^0.75·0.4^0.25, b ∝ 0.2^0.75·0.6^0.25.
	a31 := math.Pow(0.8, 0.75) * math.Pow(0.4, 0.25)
	b31 := math.Pow(0.2, 0.75) * math.Pow(0.6, 0.25)
	tests := []struct {
		name      string
		members   []Member
		wantLabel string
		wantA     float64
	}{
		{"equal weights", []Member{
			{"x", &fixed{labels: ab, scores: []float32{0.8, 0.2}}, 1},
			{"y", &fixed{labels: ab, scores: []float32{0.4, 0.6}}, 1},
		}, "a", 0.5657 / (0.5657 + 0.3464)},
		{"weights are normalised", []Member{
			{"x", &fixed{labels: ab, scores: []float32{0.8, 0.2}}, 3},
			{"y", &fixed{labels: ab, scores: []float32{0.4, 0.6}}, 1},
		}, "a", a31 / (a31 + b31)},
		{"the second member can win", []Member{
			{"x", &fixed{labels: ab, scores: []float32{0.55, 0.45}}, 1},
			{"y", &fixed{labels: ab, scores: []float32{0.1, 0.9}}, 1},
		}, "b", math.Sqrt(0.055) / (math.Sqrt(0.055) + math.Sqrt(0.405))},
		{"labels aligned by name", []Member{
			{"x", &fixed{labels: ab, scores: []float32{0.8, 0.2}}, 1},
			{"y", &fixed{labels: []string{"b", "a"}, scores: []float32{0.6, 0.4}}, 1},
		}, "a", 0.5657 / (0.5657 + 0.3464)},
		{"a zero probability does not veto", []Member{
			{"x", &fixed{labels: ab, scores: []float32{1, 0}}, 1},
			{"y", &fixed{labels: ab, scores: []float32{0, 1}}, 1},
		}, "a", 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.members)
			if err != nil {
				t.Fatal(err)
			}
			r, err := e.Classify(context.Background(), "text")
			if err != nil {
				t.Fatal(err)
			}
			if r.Label != tt.wantLabel {
				t.Errorf("label %q, want %q (%v)", r.Label, tt.wantLabel, r.Scores)
			}
			if math.Abs(float64(r.Scores[0])-tt.wantA) > 1e-3 {
				t.Errorf("p(a) = %v, want %v", r.Scores[0], tt.wantA)
			}
			if math.Abs(float64(r.Scores[0]+r.Scores[1])-1) > 1e-5 {
				t.Errorf("scores %v do not sum to 1", r.Scores)
			}
			want := r.Scores[0]
			if r.Label == "b" {
				want = r.Scores[1]
			}
			if r.Confidence != want {
				t.Errorf("confidence %v, want the winner's score %v", r.Confidence, want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	ab := []string{"a", "b"}
	ok := func() classifier.Classifier { return &fixed{labels: ab, scores: []float32{0.5, 0.5}} }
	tests := []struct {
		name    string
		members []Member
		want    string
	}{
		{"one member", []Member{{"x", ok(), 1}}, "1 members, want at least 2"},
		{"zero weight", []Member{{"x", ok(), 1}, {"y", ok(), 0}}, `member "y": weight 0`},
		{"negative weight", []Member{{"x", ok(), -1}, {"y", ok(), 1}}, `member "x": weight -1`},
		{"NaN weight", []Member{{"x", ok(), math.NaN()}, {"y", ok(), 1}}, `member "x": weight NaN`},
		{"infinite weight", []Member{{"x", ok(), math.Inf(1)}, {"y", ok(), 1}}, `member "x": weight +Inf`},
		{"no classifier", []Member{{"x", ok(), 1}, {"y", nil, 1}}, `member "y" has no classifier`},
		{"missing label", []Member{{"x", ok(), 1}, {"y", &fixed{labels: []string{"a"}}, 1}}, `member "y": label set differs`},
		{"other label", []Member{{"x", ok(), 1}, {"y", &fixed{labels: []string{"a", "c"}}, 1}}, `missing ["b"], extra ["c"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.members)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestErrorsTruncationBatchAndClose(t *testing.T) {
	ab := []string{"a", "b"}
	boom := errors.New("boom")
	x := &fixed{labels: ab, scores: []float32{0.7, 0.3}, truncated: true}
	y := &fixed{labels: ab, scores: []float32{0.6, 0.4}, closeErr: boom}
	e, err := New([]Member{{"x", x, 1}, {"y", y, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Device() != "" || len(e.Members()) != 2 || strings.Join(e.Labels(), ",") != "a,b" {
		t.Fatalf("device %q members %d labels %v", e.Device(), len(e.Members()), e.Labels())
	}
	rs, err := e.ClassifyBatch(context.Background(), []string{"long", ""})
	if err != nil || len(rs) != 2 || !rs[0].Truncated || rs[1].Truncated || rs[0].Label != "a" {
		t.Fatalf("batch %+v, %v", rs, err)
	}
	one, _ := e.Classify(context.Background(), "long")
	if one.Scores[0] != rs[0].Scores[0] {
		t.Errorf("batch and single results differ: %v vs %v", rs[0].Scores, one.Scores)
	}
	y.err = boom
	if _, err := e.Classify(context.Background(), "t"); !errors.Is(err, boom) || !strings.Contains(err.Error(), `member "y"`) {
		t.Errorf("classify error %v, want boom naming member y", err)
	}
	if _, err := e.ClassifyBatch(context.Background(), []string{"t"}); !errors.Is(err, boom) {
		t.Errorf("batch error %v, want boom", err)
	}
	if err := e.Close(); !errors.Is(err, boom) || !x.closed || !y.closed {
		t.Errorf("close: %v, closed %v %v", err, x.closed, y.closed)
	}
}

func TestContext(t *testing.T) {
	ab := []string{"a", "b"}
	e, err := New([]Member{
		{"x", &fixed{labels: ab, scores: []float32{0.7, 0.3}}, 1},
		{"y", &fixed{labels: ab, scores: []float32{0.2, 0.8}}, 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The fixed members ignore ctx: the ensemble itself must notice.
	if _, err := e.Classify(ctx, "t"); !errors.Is(err, context.Canceled) {
		t.Errorf("classify: %v, want context.Canceled", err)
	}
	if _, err := e.ClassifyBatch(ctx, []string{"t"}); !errors.Is(err, context.Canceled) {
		t.Errorf("batch: %v, want context.Canceled", err)
	}
}

func TestConcurrent(t *testing.T) {
	ab := []string{"a", "b"}
	e, err := New([]Member{
		{"x", &fixed{labels: ab, scores: []float32{0.7, 0.3}}, 1},
		{"y", &fixed{labels: ab, scores: []float32{0.2, 0.8}}, 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := e.Classify(context.Background(), "t")
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 100 {
				r, err := e.Classify(context.Background(), "t")
				if err != nil || r.Label != first.Label || r.Scores[0] != first.Scores[0] {
					t.Errorf("concurrent result %+v, %v", r, err)
					return
				}
				rs, err := e.ClassifyBatch(context.Background(), []string{"t", "u"})
				if err != nil || len(rs) != 2 || rs[1].Scores[0] != first.Scores[0] {
					t.Errorf("concurrent batch %+v, %v", rs, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestEmbeddingFromTheMemberThatHasOne: the ensemble's result carries the
// embedding of the first member that yields one, unchanged, for single and
// batched calls; its EmbeddingDim is that member's.
func TestEmbeddingFromTheMemberThatHasOne(t *testing.T) {
	ab := []string{"a", "b"}
	emb := []float32{0.6, 0.8}
	tests := []struct {
		name    string
		members []Member
		want    []float32
	}{
		{"first member", []Member{
			{"onnx", &fixed{labels: ab, scores: []float32{0.8, 0.2}, embedding: emb}, 1},
			{"linear", &fixed{labels: ab, scores: []float32{0.4, 0.6}}, 1},
		}, emb},
		{"second member", []Member{
			{"linear", &fixed{labels: ab, scores: []float32{0.4, 0.6}}, 1},
			{"onnx", &fixed{labels: ab, scores: []float32{0.8, 0.2}, embedding: emb}, 1},
		}, emb},
		{"none", []Member{
			{"x", &fixed{labels: ab, scores: []float32{0.4, 0.6}}, 1},
			{"y", &fixed{labels: ab, scores: []float32{0.8, 0.2}}, 1},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.members)
			if err != nil {
				t.Fatal(err)
			}
			if d := classifier.EmbeddingDimOf(e); d != len(tt.want) {
				t.Errorf("EmbeddingDimOf = %d, want %d", d, len(tt.want))
			}
			r, err := e.Classify(context.Background(), "x")
			if err != nil {
				t.Fatal(err)
			}
			rs, err := e.ClassifyBatch(context.Background(), []string{"x", "y"})
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range [][]float32{r.Embedding, rs[0].Embedding, rs[1].Embedding} {
				if !slices.Equal(got, tt.want) {
					t.Errorf("embedding %v, want %v", got, tt.want)
				}
			}
		})
	}
}
