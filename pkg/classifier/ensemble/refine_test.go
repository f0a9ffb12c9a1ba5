package ensemble

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// byText returns the scores given for each text, and records the texts of
// each call.
type byText struct {
	labels []string
	scores map[string][]float32
	err    error
	calls  [][]string
	closed bool
}

func (b *byText) Labels() []string { return b.labels }
func (b *byText) Classify(ctx context.Context, text string) (classifier.Result, error) {
	rs, err := b.ClassifyBatch(ctx, []string{text})
	if err != nil {
		return classifier.Result{}, err
	}
	return rs[0], nil
}
func (b *byText) ClassifyBatch(_ context.Context, texts []string) ([]classifier.Result, error) {
	b.calls = append(b.calls, texts)
	if b.err != nil {
		return nil, b.err
	}
	out := make([]classifier.Result, len(texts))
	for i, t := range texts {
		out[i] = classifier.Result{Scores: b.scores[t]}
	}
	return out, nil
}
func (b *byText) Close() error { b.closed = true; return nil }

func TestRefinement(t *testing.T) {
	ab := []string{"a", "b"}
	// The fast member is sure of "clear" and unsure of "tie"; the other
	// member is neutral, so the ensemble follows the fast member, and on
	// "tie" the exact one, which says b.
	fastScores := map[string][]float32{"clear": {0.9, 0.1}, "tie": {0.52, 0.48}, "tie2": {0.49, 0.51}}
	exactScores := map[string][]float32{"clear": {0.1, 0.9}, "tie": {0.3, 0.7}, "tie2": {0.8, 0.2}}
	neutral := &fixed{labels: ab, scores: []float32{0.5, 0.5}}
	tests := []struct {
		name       string
		texts      []string
		exactErr   error
		cancel     bool
		wantLabels []string
		wantCalls  [][]string // of the exact classifier
		wantErr    string
		refined    float64
		failed     float64
	}{
		{"clear text is not refined", []string{"clear"}, nil, false, []string{"a"}, nil, "", 0, 0},
		{"unsure text is refined", []string{"tie"}, nil, false, []string{"b"}, [][]string{{"tie"}}, "", 1, 0},
		{"batch refines only the unsure, in one call", []string{"tie", "clear", "tie2"}, nil, false,
			[]string{"b", "a", "a"}, [][]string{{"tie", "tie2"}}, "", 2, 0},
		{"failed refinement keeps the first result", []string{"tie", "clear"}, errors.New("GPU gone"), false,
			[]string{"a", "a"}, [][]string{{"tie"}}, "", 0, 1},
		{"cancelled context is an error", []string{"tie"}, context.Canceled, true, nil, [][]string{{"tie"}}, "context canceled", 0, 0},
	}
	for _, tt := range tests {
		for _, batch := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "/one by one", true: "/batch"}[batch], func(t *testing.T) {
				if !batch && len(tt.texts) > 1 {
					t.Skip("batch case")
				}
				fast := &byText{labels: ab, scores: fastScores}
				exact := &byText{labels: ab, scores: exactScores, err: tt.exactErr}
				e, err := New([]Member{{Name: "fast", Classifier: fast, Weight: 1}, {Name: "neutral", Classifier: neutral, Weight: 1}})
				if err != nil {
					t.Fatal(err)
				}
				if err := e.SetRefinement(Refinement{Member: 0, Name: "exact", Classifier: exact, Margin: 0.1}); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.cancel {
					cancel()
				}
				refined0 := testutil.ToFloat64(refinements.WithLabelValues("refined"))
				failed0 := testutil.ToFloat64(refinements.WithLabelValues("failed"))
				var got []classifier.Result
				if batch {
					got, err = e.ClassifyBatch(ctx, tt.texts)
				} else {
					var r classifier.Result
					if r, err = e.Classify(ctx, tt.texts[0]); err == nil {
						got = []classifier.Result{r}
					}
				}
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("error %v, want %q", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range got {
					if r.Label != tt.wantLabels[i] {
						t.Errorf("text %q: label %q, want %q", tt.texts[i], r.Label, tt.wantLabels[i])
					}
				}
				if len(exact.calls) != len(tt.wantCalls) || len(tt.wantCalls) > 0 && strings.Join(exact.calls[0], ",") != strings.Join(tt.wantCalls[0], ",") {
					t.Errorf("exact classifier calls %q, want %q", exact.calls, tt.wantCalls)
				}
				if d := testutil.ToFloat64(refinements.WithLabelValues("refined")) - refined0; d != tt.refined {
					t.Errorf("refined counter +%v, want +%v", d, tt.refined)
				}
				if d := testutil.ToFloat64(refinements.WithLabelValues("failed")) - failed0; d != tt.failed {
					t.Errorf("failed counter +%v, want +%v", d, tt.failed)
				}
			})
		}
	}
}

func TestSetRefinementRejects(t *testing.T) {
	ab := []string{"a", "b"}
	e, err := New([]Member{{Name: "m0", Classifier: &fixed{labels: ab, scores: []float32{1, 0}}, Weight: 1},
		{Name: "m1", Classifier: &fixed{labels: ab, scores: []float32{1, 0}}, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ok := &fixed{labels: ab}
	tests := []struct {
		name string
		r    Refinement
		want string
	}{
		{"member out of range", Refinement{Member: 2, Classifier: ok, Margin: 0.1}, "member 2 of 2"},
		{"negative member", Refinement{Member: -1, Classifier: ok, Margin: 0.1}, "member -1"},
		{"zero margin", Refinement{Classifier: ok}, "margin 0"},
		{"margin 1", Refinement{Classifier: ok, Margin: 1}, "margin 1"},
		{"no classifier", Refinement{Margin: 0.1}, "no classifier"},
		{"labels in another order", Refinement{Classifier: &fixed{labels: []string{"b", "a"}}, Margin: 0.1}, "differ from member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.SetRefinement(tt.r); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCloseClosesRefinement(t *testing.T) {
	ab := []string{"a", "b"}
	e, err := New([]Member{{Name: "m0", Classifier: &fixed{labels: ab}, Weight: 1}, {Name: "m1", Classifier: &fixed{labels: ab}, Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	exact := &byText{labels: ab}
	if err := e.SetRefinement(Refinement{Name: "exact", Classifier: exact, Margin: 0.1}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil || !exact.closed {
		t.Errorf("Close: %v, refinement closed %v", err, exact.closed)
	}
}
