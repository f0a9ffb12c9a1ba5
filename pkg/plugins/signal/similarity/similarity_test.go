package similarity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	classifierplugin "github.com/semantic-epp/semantic-epp/pkg/plugins/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// vectors is a classifier whose embedding of a text is a fixed unit vector
// ("x", "y", "xy", "-x"), so the tests know every cosine exactly; other texts
// fail. It counts Classify calls.
type vectors struct {
	dim   int
	calls int
	err   error
}

var table = map[string][]float32{
	"x":  {1, 0, 0},
	"y":  {0, 1, 0},
	"z":  {0, 0, 1},
	"xy": {float32(math.Sqrt2 / 2), float32(math.Sqrt2 / 2), 0},
	"-x": {-1, 0, 0},
}

func (v *vectors) Labels() []string  { return []string{"l"} }
func (v *vectors) EmbeddingDim() int { return v.dim }
func (v *vectors) Classify(_ context.Context, text string) (classifier.Result, error) {
	v.calls++
	if v.err != nil {
		return classifier.Result{}, v.err
	}
	e, ok := table[text]
	if !ok {
		return classifier.Result{}, fmt.Errorf("no vector for %q", text)
	}
	return classifier.Result{Label: "l", Confidence: 1, Scores: []float32{1}, Embedding: append([]float32(nil), e[:v.dim]...)}, nil
}
func (v *vectors) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	out := make([]classifier.Result, len(texts))
	for i, t := range texts {
		r, err := v.Classify(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}
func (v *vectors) Close() error { return nil }

func th(v float64) *float64 { return &v }

func matches(t *testing.T, s *Signal, text string) string {
	t.Helper()
	res, err := s.Evaluate(context.Background(), &selection.Request{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for n, sc := range res.Matches {
		out = append(out, fmt.Sprintf("%s=%.3f", n, sc))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		routes []Route
		text   string
		want   string
	}{
		{"max: the closest example", []Route{{Name: "r", Examples: []string{"x", "y"}, Threshold: th(0.9)}}, "x", "r=1.000"},
		{"max: below the threshold", []Route{{Name: "r", Examples: []string{"x", "y"}, Threshold: th(0.9)}}, "xy", ""},
		{"max: at the threshold", []Route{{Name: "r", Examples: []string{"xy"}, Threshold: th(0.7071)}}, "x", "r=0.707"},
		{"mean of the cosines", []Route{{Name: "r", Examples: []string{"x", "xy"}, Threshold: th(0.85), Aggregation: "mean"}}, "x", "r=0.854"},
		{"mean below while max holds", []Route{{Name: "r", Examples: []string{"x", "y"}, Threshold: th(0.9), Aggregation: "MEAN"}}, "x", ""},
		{"any is max's condition", []Route{{Name: "r", Examples: []string{"y", "x"}, Threshold: th(0.9), Aggregation: "any"}}, "x", "r=1.000"},
		{"any, none close", []Route{{Name: "r", Examples: []string{"y", "z"}, Threshold: th(0.1), Aggregation: "any"}}, "x", ""},
		{"opposite example", []Route{{Name: "r", Examples: []string{"-x"}, Threshold: th(0)}}, "x", ""},
		{"every route that holds", []Route{
			{Name: "a", Examples: []string{"x"}, Threshold: th(0.5)},
			{Name: "b", Examples: []string{"xy"}, Threshold: th(0.5)},
			{Name: "c", Examples: []string{"y"}, Threshold: th(0.5)},
		}, "x", "a=1.000,b=0.707"},
		{"no text, no match", []Route{{Name: "r", Examples: []string{"x"}, Threshold: th(0)}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(context.Background(), "sim", &vectors{dim: 3}, Parameters{Routes: tt.routes})
			if err != nil {
				t.Fatal(err)
			}
			if got := matches(t, s, tt.text); got != tt.want {
				t.Errorf("matches %q, want %q", got, tt.want)
			}
		})
	}
}

// TestOneClassificationShared: the signal reads the request's classification
// by its classifier when another signal already made it.
func TestOneClassificationShared(t *testing.T) {
	v := &vectors{dim: 3}
	s, err := New(context.Background(), "sim", v, Parameters{Routes: []Route{{Name: "r", Examples: []string{"x", "y"}, Threshold: th(0.5)}}})
	if err != nil {
		t.Fatal(err)
	}
	v.calls = 0
	req := &selection.Request{Text: "x"}
	if cl := req.Classify(context.Background(), v); cl.Err != nil { // as the domain signal does
		t.Fatal(cl.Err)
	}
	for range 2 {
		if res, err := s.Evaluate(context.Background(), req); err != nil || !res.Matched("r") {
			t.Fatalf("Evaluate = %+v, %v", res, err)
		}
	}
	if v.calls != 1 {
		t.Errorf("classified %d times for one request, want 1", v.calls)
	}
}

func TestEvaluateErrors(t *testing.T) {
	v := &vectors{dim: 3}
	s, err := New(context.Background(), "sim", v, Parameters{Routes: []Route{{Name: "r", Examples: []string{"x"}, Threshold: th(0.5)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Evaluate(context.Background(), nil); err == nil {
		t.Error("nil request: no error")
	}
	boom := errors.New("boom")
	v.err = boom
	if _, err := s.Evaluate(context.Background(), &selection.Request{Text: "x"}); !errors.Is(err, boom) || !strings.Contains(err.Error(), `similarity-signal "sim"`) {
		t.Errorf("classifier failure: %v, want it wrapped and the signal named", err)
	}
	v.err, v.dim = nil, 2 // a classifier that changed its embedding length
	if _, err := s.Evaluate(context.Background(), &selection.Request{Text: "x"}); err == nil || !strings.Contains(err.Error(), "length 2, want 3") {
		t.Errorf("wrong embedding length: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	ok := []Route{{Name: "r", Examples: []string{"x"}, Threshold: th(0.5)}}
	tests := []struct {
		name    string
		clf     classifier.Classifier
		routes  []Route
		wantErr string
	}{
		{"no embedding", &vectors{dim: 0}, ok, "yields no sentence embedding"},
		{"no classifier", nil, ok, "no classifier"},
		{"example fails", &vectors{dim: 3}, []Route{{Name: "r", Examples: []string{"unknown"}, Threshold: th(0.5)}}, `embedding the examples: no vector for "unknown"`},
		{"invalid route", &vectors{dim: 3}, []Route{{Name: "r", Threshold: th(0.5)}}, "routes[0].examples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), "sim", tt.clf, Parameters{Routes: tt.routes})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	_, err := New(context.Background(), "sim", &vectors{}, Parameters{ClassifierRef: "base", Routes: ok})
	if !errors.Is(err, ErrNoEmbedding) || !strings.Contains(err.Error(), `classifierRef "base"`) {
		t.Errorf("no embedding: %v, want ErrNoEmbedding naming the classifier", err)
	}
}

// handle returns a plugin handle holding a classifier plugin "base" over v,
// built as GIE's loader builds plugins.
func handle(t *testing.T, v classifier.Classifier) fwkplugin.Handle {
	t.Helper()
	h := fwkplugin.NewEppHandle(context.Background(), nil)
	load := func(context.Context, classifier.Config) (classifier.Classifier, error) { return v, nil }
	p, err := classifierplugin.NewFactory(load)("base", nil, h)
	if err != nil {
		t.Fatal(err)
	}
	h.AddPlugin("base", p)
	return h
}

func TestFactory(t *testing.T) {
	const route = `{"name":"r","examples":["x","xy"],"threshold":0.8}`
	tests := []struct {
		name, raw string
		wantErr   string
	}{
		{"valid", `{"classifierRef":"base","routes":[` + route + `]}`, ""},
		{"valid, every aggregation", `{"classifierRef":"base","routes":[{"name":"a","examples":["x"],"threshold":0.5,"aggregation":"max"},` +
			`{"name":"b","examples":["x"],"threshold":0.5,"aggregation":"mean"},{"name":"c","examples":["x"],"threshold":0.5,"aggregation":"any"}]}`, ""},
		{"no parameters", ``, "classifierRef: required"},
		{"no routes", `{"classifierRef":"base"}`, "routes: at least one route"},
		{"unknown field", `{"classifierRef":"base","routes":[` + route + `],"candidates":[]}`, `unknown field "candidates"`},
		{"unknown route field", `{"classifierRef":"base","routes":[{"name":"r","examples":["x"],"threshold":0.5,"aggregation_method":"max"}]}`, `unknown field "aggregation_method"`},
		{"missing classifier plugin", `{"classifierRef":"other","routes":[` + route + `]}`, `classifierRef: classifier "other"`},
		{"empty name", `{"classifierRef":"base","routes":[{"name":" ","examples":["x"],"threshold":0.5}]}`, "routes[0].name: must not be empty"},
		{"duplicate name", `{"classifierRef":"base","routes":[` + route + `,` + route + `]}`, `routes[1].name: "r" is already the name of routes[0]`},
		{"no examples", `{"classifierRef":"base","routes":[{"name":"r","threshold":0.5}]}`, "routes[0].examples: at least one"},
		{"empty example", `{"classifierRef":"base","routes":[{"name":"r","examples":["x",""],"threshold":0.5}]}`, "routes[0].examples[1]: must not be empty"},
		{"no threshold", `{"classifierRef":"base","routes":[{"name":"r","examples":["x"]}]}`, "routes[0].threshold: required"},
		{"threshold above 1", `{"classifierRef":"base","routes":[{"name":"r","examples":["x"],"threshold":1.5}]}`, "routes[0].threshold: 1.5 is outside [0, 1]"},
		{"negative threshold", `{"classifierRef":"base","routes":[{"name":"r","examples":["x"],"threshold":-0.1}]}`, "routes[0].threshold: -0.1 is outside"},
		{"bad aggregation", `{"classifierRef":"base","routes":[{"name":"r","examples":["x"],"threshold":0.5,"aggregation":"sum"}]}`, `routes[0].aggregation: "sum" is not one of max, mean, any`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Factory("sim", json.RawMessage(tt.raw), handle(t, &vectors{dim: 3}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `similarity-signal "sim"`) {
					t.Fatalf("error %v, want it to name the plugin and contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := p.(*Signal)
			if s.TypedName() != (fwkplugin.TypedName{Type: Type, Name: "sim"}) {
				t.Errorf("TypedName %v", s.TypedName())
			}
			if len(s.Names()) == 0 {
				t.Error("no route names")
			}
		})
	}
	// A classifier plugin whose model has no embedding output fails start-up.
	_, err := Factory("sim", json.RawMessage(`{"classifierRef":"base","routes":[`+route+`]}`), handle(t, &vectors{dim: 0}))
	if !errors.Is(err, ErrNoEmbedding) {
		t.Errorf("classifier without embeddings: %v, want ErrNoEmbedding", err)
	}
}

func TestDot(t *testing.T) {
	for n := range 11 {
		a, b := make([]float32, n), make([]float32, n)
		var want float32
		for i := range n {
			a[i], b[i] = float32(i+1), float32(2*i-3)
			want += a[i] * b[i]
		}
		if got := dot(a, b); got != want {
			t.Errorf("n=%d: dot %v, want %v", n, got, want)
		}
	}
}
