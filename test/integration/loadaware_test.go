package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/datastore"
	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"
	eppmetrics "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/metrics"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/endpointtracker"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/semanticselector"
)

const loadAwareConfig = "../../config/semantic-epp-load-aware.yaml"

// TestLoadAwareSelection: when every phi4-mini pod reports a full queue, an
// auto math request goes to the next-ranked model, llama3-8b, with the
// reason header, and back to phi4-mini once the queue drains. The upstream
// request metric is labelled with the model finally chosen.
func TestLoadAwareSelection(t *testing.T) {
	eppmetrics.Register()
	conn, handle, ds := startEPPWith(t, readConfig(t, loadAwareConfig), twoModelPool)
	tracker, err := endpointtracker.Lookup(handle, "endpoint-tracker")
	if err != nil {
		t.Fatal(err)
	}
	// The test datastore is not wired to the data-layer runtime: deliver the
	// endpoint lifecycle events the runtime would.
	eps := ds.PodList(datastore.AllPodsPredicate)
	for _, ep := range eps {
		if err := tracker.ExtractEndpoint(context.Background(), fwkdl.EndpointEvent{Type: fwkdl.EventAddOrUpdate, Endpoint: ep}); err != nil {
			t.Fatal(err)
		}
	}
	setLoad := func(phiWaiting int) {
		for _, ep := range eps {
			m := fwkdl.NewMetrics()
			m.UpdateTime = time.Now()
			if strings.HasPrefix(ep.GetMetadata().NamespacedName.Name, "phi") {
				m.WaitingQueueSize = phiWaiting
			}
			ep.UpdateMetrics(m)
		}
	}
	mathReq := mustJSON(t, map[string]any{"model": "auto", "prompt": "2+2 is", "max_tokens": 8})
	cases := []struct {
		name        string
		phiWaiting  int
		wantModel   string
		wantReason  string
		wantPhiDest bool
	}{
		{"phi4-mini has room", 0, "phi4-mini", semanticselector.SelectCategory, true},
		{"phi4-mini busy but not saturated", 4, "phi4-mini", semanticselector.SelectCategory, true},
		{"phi4-mini saturated: fall back", 12, "llama3-8b", semanticselector.SelectSaturationFallback, false},
		{"queue drained: back to phi4-mini", 0, "phi4-mini", semanticselector.SelectCategory, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setLoad(tc.phiWaiting)
			before := requestTotal(t, "llama3-8b")
			h := headersFor("/v1/completions")
			h[semanticselector.HeaderSelectedModel] = "spoofed"
			h[semanticselector.HeaderSelectionReason] = "spoofed"
			out := send(t, conn, h, mathReq, 1<<20)
			if out.status != 0 {
				t.Fatalf("immediate response %d: %s", out.status, out.errorBody)
			}
			if got := out.headers[semanticselector.HeaderSelectedModel]; got != tc.wantModel {
				t.Errorf("x-selected-model = %q, want %q", got, tc.wantModel)
			}
			if got := out.headers[semanticselector.HeaderSelectionReason]; got != tc.wantReason {
				t.Errorf("x-selection-reason = %q, want %q", got, tc.wantReason)
			}
			if !strings.Contains(string(out.body), `"model":"`+tc.wantModel+`"`) {
				t.Errorf("forwarded body %s does not name %s", out.body, tc.wantModel)
			}
			if (out.destination == phiIP) != tc.wantPhiDest {
				t.Errorf("destination %s, want phi pod = %v", out.destination, tc.wantPhiDest)
			}
			if tc.wantModel == "llama3-8b" {
				if got := requestTotal(t, "llama3-8b") - before; got != 1 {
					t.Errorf("inference_objective_request_total{model_name=llama3-8b} grew by %v, want 1", got)
				}
			}
		})
	}
}

// requestTotal reads the upstream request counter for a model (model_name
// and target_model_name equal, priority 0).
func requestTotal(t *testing.T, model string) float64 {
	t.Helper()
	mfs, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "inference_objective_request_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["model_name"] == model && labels["target_model_name"] == model {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestClientDecisionHeadersOverwritten: decision headers a client sends
// never reach the model server, on selected and pass-through requests alike.
// Checked on the ext_proc response, the only thing Envoy acts on.
func TestClientDecisionHeadersOverwritten(t *testing.T) {
	conn := startEPP(t, readConfig(t, mainConfig), twoModelPool)
	spoof := map[string]string{
		semanticselector.HeaderSelectedModel: "phi4-mini", semanticselector.HeaderSelectionReason: "category",
		semanticselector.HeaderCategory: "math", semanticselector.HeaderConfidence: "0.99",
	}
	cases := []struct {
		name string
		body map[string]any
		want map[string]string
	}{
		{"pass-through", map[string]any{"model": "llama3-8b", "prompt": "2+2 is"},
			map[string]string{semanticselector.HeaderSelectedModel: "llama3-8b", semanticselector.HeaderSelectionReason: "explicit",
				semanticselector.HeaderCategory: "none", semanticselector.HeaderConfidence: "0"}},
		{"auto without text", map[string]any{"model": "auto", "messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image_url", "image_url": map[string]any{"url": "http://img/x.png"}}}}}},
			map[string]string{semanticselector.HeaderSelectedModel: "llama3-8b", semanticselector.HeaderSelectionReason: "default_no_text",
				semanticselector.HeaderCategory: "none", semanticselector.HeaderConfidence: "0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v1/completions"
			if _, chat := tc.body["messages"]; chat {
				path = "/v1/chat/completions"
			}
			h := headersFor(path)
			for k, v := range spoof {
				h[k] = v
			}
			out := send(t, conn, h, mustJSON(t, tc.body), 1<<20)
			if out.status != 0 {
				t.Fatalf("immediate response %d: %s", out.status, out.errorBody)
			}
			for k, v := range tc.want {
				if got, ok := out.headers[k]; !ok || got != v {
					t.Errorf("header mutation %s = %q (sent: %v), want %q", k, got, ok, v)
				}
			}
		})
	}
}

// TestUnknownModel: a model no endpoint serves and the config does not
// declare is answered 400 naming it (OpenAI clients do not retry a 400),
// while a declared model without endpoints still reaches the scheduler.
func TestUnknownModel(t *testing.T) {
	conn, handle, ds := startEPPWith(t, readConfig(t, mainConfig), twoModelPool[:2]) // llama pods only
	tracker, err := endpointtracker.Lookup(handle, "endpoint-tracker")
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range ds.PodList(datastore.AllPodsPredicate) {
		_ = tracker.ExtractEndpoint(context.Background(), fwkdl.EndpointEvent{Type: fwkdl.EventAddOrUpdate, Endpoint: ep})
	}
	cases := []struct {
		model      string
		wantStatus int
		wantBody   []string
	}{
		{"gpt-9", 400, []string{"model_not_found", `"gpt-9"`, "llama3-8b"}},
		{"phi4-mini", 429, []string{`no endpoint serves model "phi4-mini"`}},
		{"llama3-8b", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			out := send(t, conn, headersFor("/v1/completions"), mustJSON(t, map[string]any{"model": tc.model, "prompt": "hi"}), 1<<20)
			if out.status != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", out.status, out.errorBody, tc.wantStatus)
			}
			for _, w := range tc.wantBody {
				if !strings.Contains(out.errorBody, w) {
					t.Errorf("body %q does not contain %q", out.errorBody, w)
				}
			}
		})
	}
}
