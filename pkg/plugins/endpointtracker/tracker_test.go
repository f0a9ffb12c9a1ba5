package endpointtracker

import (
	"context"
	"math"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"

	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

var th = selection.Thresholds{QueueDepth: 5, KVCacheUtilization: 0.8, MetricsStaleness: 200 * time.Millisecond}

func endpoint(name, model string, waiting, running int, kv float64, age time.Duration, now time.Time) fwkdl.Endpoint {
	m := fwkdl.NewMetrics()
	m.WaitingQueueSize, m.RunningRequestsSize, m.KVCacheUsagePercent = waiting, running, kv
	if age >= 0 {
		m.UpdateTime = now.Add(-age)
	}
	return fwkdl.NewEndpoint(&fwkdl.EndpointMetadata{
		NamespacedName: types.NamespacedName{Namespace: "ns", Name: name},
		Labels:         map[string]string{"semantic-epp.io/model": model},
	}, m)
}

func TestModelLoad(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name      string
		endpoints []fwkdl.Endpoint
		want      selection.ModelLoad
		saturated bool
	}{
		{"no endpoint counts as saturated", nil, selection.ModelLoad{Model: "m"}, true},
		{"idle", []fwkdl.Endpoint{endpoint("a", "m", 0, 1, 0.1, 0, now)},
			selection.ModelLoad{Model: "m", Endpoints: 1, RunningRequests: 1, KVCacheUtilization: 0.1}, false},
		{"one of two over the queue threshold", []fwkdl.Endpoint{
			endpoint("a", "m", 5, 3, 0.2, 0, now), endpoint("b", "m", 1, 3, 0.4, 0, now),
			endpoint("c", "other", 50, 0, 0.9, 0, now)},
			selection.ModelLoad{Model: "m", Endpoints: 2, Saturated: 1, WaitingRequests: 6, RunningRequests: 6, KVCacheUtilization: 0.3}, false},
		{"KV cache full", []fwkdl.Endpoint{endpoint("a", "m", 0, 0, 0.8, 0, now)},
			selection.ModelLoad{Model: "m", Endpoints: 1, Saturated: 1, KVCacheUtilization: 0.8}, true},
		{"stale metrics", []fwkdl.Endpoint{endpoint("a", "m", 0, 0, 0, time.Second, now)},
			selection.ModelLoad{Model: "m", Endpoints: 1, Saturated: 1}, true},
		{"never scraped", []fwkdl.Endpoint{endpoint("a", "m", 0, 0, 0, -1, now)},
			selection.ModelLoad{Model: "m", Endpoints: 1, Saturated: 1}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New("t", Parameters{Sources: []string{"label"}})
			if err != nil {
				t.Fatal(err)
			}
			tr.now = func() time.Time { return now }
			for _, ep := range tc.endpoints {
				if err := tr.ExtractEndpoint(context.Background(), fwkdl.EndpointEvent{Type: fwkdl.EventAddOrUpdate, Endpoint: ep}); err != nil {
					t.Fatal(err)
				}
			}
			got := tr.ModelLoad("m", th)
			if math.Abs(got.KVCacheUtilization-tc.want.KVCacheUtilization) < 1e-9 {
				got.KVCacheUtilization = tc.want.KVCacheUtilization
			}
			if got != tc.want || got.AllSaturated() != tc.saturated {
				t.Errorf("ModelLoad = %+v (all saturated %v), want %+v (%v)", got, got.AllSaturated(), tc.want, tc.saturated)
			}
		})
	}
}

func TestEndpointLifecycle(t *testing.T) {
	now := time.Now()
	tr, err := New("t", Parameters{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := endpoint("a", "m", 0, 0, 0, 0, now), endpoint("b", "x", 0, 0, 0, 0, now)
	ctx := context.Background()
	for _, ev := range []fwkdl.EndpointEvent{{Type: fwkdl.EventAddOrUpdate, Endpoint: a}, {Type: fwkdl.EventAddOrUpdate, Endpoint: b},
		{Type: fwkdl.EventAddOrUpdate, Endpoint: a}, {Type: fwkdl.EventAddOrUpdate, Endpoint: nil}} {
		_ = tr.ExtractEndpoint(ctx, ev)
	}
	if tr.Len() != 2 {
		t.Fatalf("tracking %d endpoints, want 2", tr.Len())
	}
	served, complete := tr.ServedModels()
	if !served["m"] || !served["x"] || len(served) != 2 || !complete {
		t.Errorf("ServedModels = %v complete=%v", served, complete)
	}
	_ = tr.ExtractEndpoint(ctx, fwkdl.EndpointEvent{Type: fwkdl.EventDelete, Endpoint: a})
	if l := tr.ModelLoad("m", th); l.Endpoints != 0 || tr.Len() != 1 {
		t.Errorf("after delete: %+v, %d tracked", l, tr.Len())
	}
	unlabelled := fwkdl.NewEndpoint(&fwkdl.EndpointMetadata{NamespacedName: types.NamespacedName{Name: "u"}}, nil)
	_ = tr.ExtractEndpoint(ctx, fwkdl.EndpointEvent{Type: fwkdl.EventAddOrUpdate, Endpoint: unlabelled})
	if _, complete := tr.ServedModels(); complete {
		t.Error("an endpoint with unknown models must leave the served set incomplete")
	}
}

func TestFactoryErrors(t *testing.T) {
	for _, raw := range []string{`{"sources":["pods"]}`, `{"unknown":1}`, `[]`} {
		if _, err := Factory("t", []byte(raw), nil); err == nil {
			t.Errorf("Factory(%s) succeeded, want an error", raw)
		}
	}
	if _, err := Factory("t", nil, nil); err != nil {
		t.Errorf("Factory without parameters: %v", err)
	}
}

// BenchmarkModelLoad reads one model's load from a pool of 100 endpoints
// serving 4 models: what the selection stage pays per candidate.
func BenchmarkModelLoad(b *testing.B) {
	now := time.Now()
	tr, _ := New("t", Parameters{})
	models := []string{"a", "b", "c", "d"}
	for i := range 100 {
		ep := endpoint(string(rune('A'+i%26))+string(rune('0'+i/26)), models[i%4], i%7, i%3, 0.5, 0, now)
		_ = tr.ExtractEndpoint(context.Background(), fwkdl.EndpointEvent{Type: fwkdl.EventAddOrUpdate, Endpoint: ep})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = tr.ModelLoad("b", th)
	}
}
