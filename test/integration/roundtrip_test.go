package integration

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/semantic-epp/semantic-epp/pkg/plugins"
)

const mainConfig = "../../config/semantic-epp.yaml"

var twoModelPool = []pod{
	{name: "llama-1", ip: "10.0.0.1", model: "llama3-8b"},
	{name: "llama-2", ip: "10.0.0.2", model: "llama3-8b"},
	{name: "phi-1", ip: "10.0.0.3", model: "phi4-mini"},
}

var llamaIPs = map[string]bool{"10.0.0.1:8000": true, "10.0.0.2:8000": true}

const phiIP = "10.0.0.3:8000"

var reqSeq atomic.Int64

func headersFor(path string) map[string]string {
	return map[string]string{
		":path": path, ":method": "POST", "content-type": "application/json",
		"x-request-id": fmt.Sprintf("it-%d", reqSeq.Add(1)),
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("forwarded body is not JSON: %v (%.200q)", err, b)
	}
	return m
}

// metricValue reads one series of our collectors (counter or histogram count).
func metricValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range plugins.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatalf("registering collectors: %v", err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue series
				}
			}
			return seriesValue(m)
		}
	}
	return 0
}

func seriesValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

func TestRoundTrip(t *testing.T) {
	conn := startEPP(t, readConfig(t, mainConfig), twoModelPool)
	long := strings.Repeat("Prove that the sum of the first n odd numbers equals n squared. ", 16500) // ~1 MB
	tests := []struct {
		name      string
		path      string
		body      map[string]any
		chunk     int
		wantModel string
		wantPhi   bool // destination is the phi pod (else a llama pod)
		selected  bool // the selector chose the model (else x-selection-reason is explicit)
		unchanged bool // forwarded body equals the sent body
	}{
		{"explicit llama3-8b passes through", "/v1/chat/completions",
			map[string]any{"model": "llama3-8b", "messages": []any{map[string]any{"role": "user", "content": "2+2 is"}}, "temperature": 0.1},
			1 << 20, "llama3-8b", false, false, true},
		{"auto math prompt goes to phi4-mini", "/v1/completions",
			map[string]any{"model": "auto", "prompt": "2+2 is", "max_tokens": 8},
			1 << 20, "phi4-mini", true, true, false},
		{"auto computer science prompt goes to llama3-8b", "/v1/completions",
			map[string]any{"model": "auto", "prompt": "Linux is said to be an open source kernel because", "max_tokens": 8},
			1 << 20, "llama3-8b", false, true, false},
		{"auto chat, streaming, body in 7-byte chunks", "/v1/chat/completions",
			map[string]any{"model": "auto", "stream": true, "messages": []any{
				map[string]any{"role": "system", "content": "You are terse."},
				map[string]any{"role": "user", "content": "2+2 is"}}},
			7, "phi4-mini", true, true, false},
		{"auto responses API", "/v1/responses",
			map[string]any{"model": "auto", "input": "2+2 is"},
			1 << 20, "phi4-mini", true, true, false},
		{"auto without text goes to defaultModel", "/v1/chat/completions",
			map[string]any{"model": "auto", "messages": []any{map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "image_url", "image_url": map[string]any{"url": "http://img/x.png"}}}}}},
			1 << 20, "llama3-8b", false, true, false},
		{"1 MB auto body in 64 KiB chunks", "/v1/chat/completions",
			map[string]any{"model": "auto", "messages": []any{map[string]any{"role": "user", "content": long}}},
			64 << 10, "", false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sent := mustJSON(t, tc.body)
			truncBefore := metricValue(t, "semantic_epp_selector_truncations_total", nil)
			out := send(t, conn, headersFor(tc.path), sent, tc.chunk)
			if out.status != 0 {
				t.Fatalf("immediate response %d: %s", out.status, out.errorBody)
			}
			got := decode(t, out.body)
			model, _ := got["model"].(string)
			if tc.wantModel != "" && model != tc.wantModel {
				t.Errorf("forwarded model = %q, want %q (category %q, confidence %q)", model, tc.wantModel,
					out.headers["x-semantic-category"], out.headers["x-semantic-confidence"])
			}
			wantDest := llamaIPs[out.destination]
			if model == "phi4-mini" {
				wantDest = out.destination == phiIP
			}
			if !wantDest {
				t.Errorf("destination %q does not serve %q", out.destination, model)
			}
			if tc.wantModel != "" && tc.wantPhi != (out.destination == phiIP) {
				t.Errorf("destination %q, want phi pod = %v", out.destination, tc.wantPhi)
			}
			// x-selected-model is always set (overwriting any client value):
			// to the chosen model, or to the named one on pass-through.
			if out.headers["x-selected-model"] != model {
				t.Errorf("x-selected-model = %q, want %q", out.headers["x-selected-model"], model)
			}
			if !tc.selected && out.headers["x-selection-reason"] != "explicit" {
				t.Errorf("x-selection-reason = %q on a pass-through request, want explicit", out.headers["x-selection-reason"])
			}
			if tc.unchanged && !reflect.DeepEqual(got, decode(t, sent)) {
				t.Errorf("pass-through body changed:\n got %s\nsent %s", out.body, sent)
			}
			if !tc.unchanged {
				// Everything but the model is forwarded as sent.
				want := decode(t, sent)
				want["model"] = model
				if !reflect.DeepEqual(got, want) {
					t.Errorf("forwarded body differs beyond the model (%d vs %d bytes)", len(out.body), len(sent))
				}
			}
			if len(sent) > 1<<20-1<<16 {
				// Far beyond any classifier input limit: the window is counted.
				if d := metricValue(t, "semantic_epp_selector_truncations_total", nil) - truncBefore; d < 1 {
					t.Errorf("truncations_total grew by %v for a 1 MB prompt, want >= 1", d)
				}
			}
			if classified := tc.selected && !strings.Contains(tc.name, "without text"); classified {
				if out.headers["x-semantic-category"] == "" || out.headers["x-semantic-confidence"] == "" {
					t.Errorf("category headers missing: %v", out.headers)
				}
			}
			t.Logf("model=%s category=%q confidence=%q destination=%s bytes=%d", model,
				out.headers["x-semantic-category"], out.headers["x-semantic-confidence"], out.destination, len(out.body))
		})
	}
}

func TestRoundTripBadRequests(t *testing.T) {
	conn := startEPP(t, readConfig(t, mainConfig), twoModelPool)
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", `{"model": "auto", "messages": [`},
		{"no model", `{"messages": [{"role": "user", "content": "2+2 is"}]}`},
		{"chat without messages", `{"model": "auto"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := send(t, conn, headersFor("/v1/chat/completions"), []byte(tc.body), 5)
			if out.status != 400 {
				t.Fatalf("status = %d (%s), want 400", out.status, out.errorBody)
			}
			if out.errorBody == "" {
				t.Error("400 without a message")
			}
			t.Logf("400 body: %s", out.errorBody)
		})
	}
}

// TestNoEndpointForModel: the chosen (or named) model has no pod in the pool.
// GIE v1.5.0 gives plugins no way to answer 503: a filter that leaves no
// endpoint makes the scheduler fail, which the director maps to
// ResourceExhausted (429); served-model-profile-handler puts the model's
// name into that error. The filter also logs and counts the model by name.
func TestNoEndpointForModel(t *testing.T) {
	conn := startEPP(t, readConfig(t, mainConfig), twoModelPool[:2]) // llama pods only
	tests := []struct {
		name  string
		body  map[string]any
		model string
	}{
		{"auto chooses phi4-mini, not deployed", map[string]any{"model": "auto", "prompt": "2+2 is"}, "phi4-mini"},
		{"client names an unknown model", map[string]any{"model": "mistral-7b", "prompt": "hello"}, "mistral-7b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := metricValue(t, "semantic_epp_served_model_filter_no_endpoint_total", map[string]string{"model": tc.model})
			out := send(t, conn, headersFor("/v1/completions"), mustJSON(t, tc.body), 1<<20)
			if out.status != 429 {
				t.Fatalf("status = %d (%q), want 429 (GIE v1.5.0 maps scheduling failures to ResourceExhausted)", out.status, out.errorBody)
			}
			if want := fmt.Sprintf("no endpoint serves model %q", tc.model); !strings.Contains(out.errorBody, want) {
				t.Errorf("error body %q does not contain %q", out.errorBody, want)
			}
			after := metricValue(t, "semantic_epp_served_model_filter_no_endpoint_total", map[string]string{"model": tc.model})
			if after-before != 1 {
				t.Errorf("no_endpoint_total{model=%q} grew by %v, want 1", tc.model, after-before)
			}
			t.Logf("status %d body %q", out.status, out.errorBody)
		})
	}
}

// TestClassifierTimeout drives the real classifier past a 1ns timeout:
// fail-open routes to defaultModel, fail-closed rejects the request.
func TestClassifierTimeout(t *testing.T) {
	base := string(readConfig(t, mainConfig))
	if !strings.Contains(base, "classifierTimeout: 200ms") || !strings.Contains(base, "failurePolicy: open") {
		t.Fatal("config/semantic-epp.yaml no longer sets classifierTimeout 200ms / failurePolicy open; update this test")
	}
	tests := []struct {
		name       string
		policy     string
		wantStatus int
		reason     string
	}{
		{"fail-open routes to defaultModel", "open", 0, "semantic_epp_selector_fallbacks_total"},
		{"fail-closed rejects", "closed", 500, "semantic_epp_selector_rejections_total"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := strings.Replace(base, "classifierTimeout: 200ms", "classifierTimeout: 1ns", 1)
			cfg = strings.Replace(cfg, "failurePolicy: open", "failurePolicy: "+tc.policy, 1)
			conn := startEPP(t, []byte(cfg), twoModelPool)
			labels := map[string]string{"reason": "classifier_timeout"}
			before := metricValue(t, tc.reason, labels)
			out := send(t, conn, headersFor("/v1/completions"), mustJSON(t, map[string]any{"model": "auto", "prompt": "2+2 is"}), 1<<20)
			if out.status != tc.wantStatus {
				t.Fatalf("status = %d (%q), want %d", out.status, out.errorBody, tc.wantStatus)
			}
			if tc.wantStatus == 0 {
				if m := decode(t, out.body)["model"]; m != "llama3-8b" {
					t.Errorf("model = %v, want defaultModel llama3-8b", m)
				}
			}
			if d := metricValue(t, tc.reason, labels) - before; d != 1 {
				t.Errorf("%s{reason=classifier_timeout} grew by %v, want 1", tc.reason, d)
			}
			t.Logf("status %d body %q", out.status, out.errorBody)
		})
	}
}

// TestRoundTripConcurrent sends mixed requests in parallel through one EPP
// (run with -race to check the plugins' shared state).
func TestRoundTripConcurrent(t *testing.T) {
	conn := startEPP(t, readConfig(t, mainConfig), twoModelPool)
	bodies := []struct {
		body  map[string]any
		model string
	}{
		{map[string]any{"model": "auto", "prompt": "2+2 is"}, "phi4-mini"},
		{map[string]any{"model": "llama3-8b", "prompt": "2+2 is"}, "llama3-8b"},
		{map[string]any{"model": "phi4-mini", "prompt": "hello"}, "phi4-mini"},
	}
	const n = 48
	errs := make(chan error, n)
	for i := range n {
		go func() {
			b := bodies[i%len(bodies)]
			raw, _ := json.Marshal(b.body)
			out, err := trySend(conn, headersFor("/v1/completions"), raw, 16)
			if err != nil {
				errs <- fmt.Errorf("request %d: %w", i, err)
				return
			}
			m := map[string]any{}
			if err := json.Unmarshal(out.body, &m); err != nil || out.status != 0 {
				errs <- fmt.Errorf("request %d: status %d, %w", i, out.status, err)
				return
			}
			if m["model"] != b.model || (b.model == "phi4-mini") != (out.destination == phiIP) {
				errs <- fmt.Errorf("request %d: model %v to %s, want %s", i, m["model"], out.destination, b.model)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
