package semanticselector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/endpointtracker"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/filter/saturated"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/scorer/load"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/modelselection/scorer/rank"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

var testThresholds = selection.Thresholds{QueueDepth: 5, KVCacheUtilization: 0.8, MetricsStaleness: time.Hour}

// poolOf builds a real endpoint tracker over endpoints given as model →
// waiting queue per endpoint.
func poolOf(t testing.TB, waiting map[string][]int) *endpointtracker.Tracker {
	t.Helper()
	tr, err := endpointtracker.New("tracker", endpointtracker.Parameters{Sources: []string{"label"}})
	if err != nil {
		t.Fatal(err)
	}
	for model, queues := range waiting {
		for i, q := range queues {
			m := fwkdl.NewMetrics()
			m.WaitingQueueSize, m.UpdateTime = q, time.Now()
			ep := fwkdl.NewEndpoint(&fwkdl.EndpointMetadata{
				NamespacedName: types.NamespacedName{Name: fmt.Sprintf("%s-%d", model, i)},
				Labels:         map[string]string{"semantic-epp.io/model": model},
			}, m)
			_ = tr.ExtractEndpoint(context.Background(), fwkdl.EndpointEvent{Type: fwkdl.EventAddOrUpdate, Endpoint: ep})
		}
	}
	return tr
}

func loadAwarePipeline(view selection.LoadView) pipeline {
	return pipeline{
		filters: []selection.ModelFilter{saturated.New("sat", view, testThresholds)},
		scorers: []weightedScorer{{rank.New("rank"), 1}, {load.New("load", view, testThresholds), 0.5}},
	}
}

func TestCandidates(t *testing.T) {
	route := []CategoryModel{{Model: "a"}, {Model: "b"}, {Model: "c"}}
	weighted := []CategoryModel{{Model: "a", Weight: 1}, {Model: "b", Weight: 3}, {Model: "c"}}
	cases := []struct {
		name    string
		route   []CategoryModel
		maxRank int
		random  float64
		want    []string
	}{
		{"ranked, whole list", route, 2, 0, []string{"a", "b", "c"}},
		{"bounded fallback", route, 1, 0, []string{"a", "b"}},
		{"no fallback", route, 0, 0, []string{"a"}},
		{"weighted draw first, then list order", weighted, 2, 0.5, []string{"b", "a", "c"}},
		{"weighted draw of the first entry", weighted, 1, 0.1, []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := candidates(tc.route, tc.maxRank, func() float64 { return tc.random })
			if len(got) != len(tc.want) {
				t.Fatalf("candidates = %+v, want %v", got, tc.want)
			}
			for i, c := range got {
				if c.Model != tc.want[i] || c.Rank != i {
					t.Errorf("candidate %d = %+v, want %s at rank %d", i, c, tc.want[i], i)
				}
			}
		})
	}
}

func TestPipelinePick(t *testing.T) {
	two := []selection.Candidate{{Model: "phi", Rank: 0}, {Model: "llama", Rank: 1}}
	cases := []struct {
		name    string
		waiting map[string][]int
		pl      func(selection.LoadView) pipeline
		want    string
	}{
		{"default pipeline ignores load", map[string][]int{"phi": {9}, "llama": {0}},
			func(selection.LoadView) pipeline { return defaultPipeline() }, "phi"},
		{"first choice has room", map[string][]int{"phi": {0}, "llama": {0}}, loadAwarePipeline, "phi"},
		{"first choice busy, not saturated: stays", map[string][]int{"phi": {4, 4}, "llama": {0}}, loadAwarePipeline, "phi"},
		{"one first-choice pod has room: stays", map[string][]int{"phi": {9, 1}, "llama": {0}}, loadAwarePipeline, "phi"},
		{"first choice saturated: next rank", map[string][]int{"phi": {5, 7}, "llama": {1}}, loadAwarePipeline, "llama"},
		{"all saturated: first choice stands", map[string][]int{"phi": {6}, "llama": {8}}, loadAwarePipeline, "phi"},
		{"first choice has no endpoint, all saturated: the one that exists", map[string][]int{"llama": {8}}, loadAwarePipeline, "llama"},
		{"nothing exists: first choice stands", map[string][]int{}, loadAwarePipeline, "phi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			view := poolOf(t, tc.waiting)
			req := &selection.Request{}
			got := tc.pl(view).run(context.Background(), req, append([]selection.Candidate(nil), two...))
			if got.Model != tc.want {
				t.Errorf("picked %s, want %s (loads seen %+v)", got.Model, tc.want, req.Loads)
			}
		})
	}
}

// BenchmarkLoadAwareSelection is the selection stage's cost per request with
// 100 endpoints in the pool (issue 11 target: ≤ 50 µs p50), side by side with
// the capacity-blind default.
func BenchmarkLoadAwareSelection(b *testing.B) {
	waiting := map[string][]int{}
	models := []string{"phi", "llama", "qwen", "gemma"}
	for i := range 100 {
		waiting[models[i%4]] = append(waiting[models[i%4]], i%6)
	}
	view := poolOf(b, waiting)
	route := []CategoryModel{{Model: "phi"}, {Model: "llama"}}
	for _, bc := range []struct {
		name string
		pl   pipeline
	}{{"blind", defaultPipeline()}, {"load-aware", loadAwarePipeline(view)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := &selection.Request{}
				_ = bc.pl.run(context.Background(), req, candidates(route, 1, func() float64 { return 0 }))
			}
		})
	}
}
