package servedmodelfilter

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/llm-d/llm-d-inference-scheduler/pkg/plugins/datalayer/models"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
	fwkdl "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/datalayer"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"
)

// endpoint builds a scheduler endpoint named name, with pod labels and,
// when served is non-nil, the model list stored by the real llm-d extractor.
func endpoint(t *testing.T, name string, labels map[string]string, served []string) fwksched.Endpoint {
	t.Helper()
	ms := fwkdl.NewEndpoint(&fwkdl.EndpointMetadata{
		NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}, Address: name, Labels: labels,
	}, &fwkdl.Metrics{})
	if served != nil {
		ex, err := models.NewModelExtractor()
		if err != nil {
			t.Fatal(err)
		}
		resp := &models.ModelResponse{Object: "list"}
		for _, m := range served {
			resp.Data = append(resp.Data, models.ModelInfo{ID: m})
		}
		if err := ex.Extract(context.Background(), resp, ms); err != nil {
			t.Fatalf("llm-d extractor: %v", err)
		}
	}
	return fwksched.NewEndpoint(ms.GetMetadata(), ms.GetMetrics(), ms.GetAttributes())
}

func names(eps []fwksched.Endpoint) string {
	out := make([]string, 0, len(eps))
	for _, ep := range eps {
		out = append(out, ep.GetMetadata().NamespacedName.Name)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestFilter(t *testing.T) {
	pool := func(t *testing.T) []fwksched.Endpoint {
		return []fwksched.Endpoint{
			endpoint(t, "llama-label", map[string]string{DefaultLabelKey: "llama3-8b"}, nil),
			endpoint(t, "phi-label", map[string]string{DefaultLabelKey: "phi4-mini"}, nil),
			endpoint(t, "llama-models", nil, []string{"llama3-8b", "llama3-8b-lora"}),
			endpoint(t, "phi-models", nil, []string{"phi4-mini"}),
			endpoint(t, "unknown", map[string]string{"app": "x"}, nil),
			endpoint(t, "custom-key", map[string]string{"serves": "llama3-8b"}, nil),
		}
	}
	tests := []struct {
		name   string
		params Parameters
		model  string
		want   string
	}{
		{"both sources", Parameters{}, "llama3-8b", "llama-label,llama-models"},
		{"adapter id from /v1/models", Parameters{}, "llama3-8b-lora", "llama-models"},
		{"label only", Parameters{Sources: []string{SourceLabel}}, "phi4-mini", "phi-label"},
		{"models only", Parameters{Sources: []string{SourceModels}}, "phi4-mini", "phi-models"},
		{"custom label key", Parameters{Sources: []string{SourceLabel}, LabelKey: "serves"}, "llama3-8b", "custom-key"},
		{"keep unknown", Parameters{KeepUnknown: true}, "phi4-mini", "custom-key,phi-label,phi-models,unknown"},
		{"no target model keeps all", Parameters{}, "", "custom-key,llama-label,llama-models,phi-label,phi-models,unknown"},
		{"nobody serves it", Parameters{}, "mistral-7b", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New("f", tc.params)
			if err != nil {
				t.Fatal(err)
			}
			got := f.Filter(context.Background(), fwksched.NewCycleState(), &fwksched.LLMRequest{TargetModel: tc.model}, pool(t))
			if names(got) != tc.want {
				t.Errorf("kept %q, want %q", names(got), tc.want)
			}
		})
	}
}

func TestNoEndpointMetric(t *testing.T) {
	f, err := New("f", Parameters{})
	if err != nil {
		t.Fatal(err)
	}
	before := testutil.ToFloat64(noEndpoint.WithLabelValues("no-such-model"))
	eps := []fwksched.Endpoint{endpoint(t, "a", map[string]string{DefaultLabelKey: "llama3-8b"}, nil)}
	if got := f.Filter(context.Background(), nil, &fwksched.LLMRequest{TargetModel: "no-such-model"}, eps); len(got) != 0 {
		t.Fatalf("kept %d endpoints, want 0", len(got))
	}
	if d := testutil.ToFloat64(noEndpoint.WithLabelValues("no-such-model")) - before; d != 1 {
		t.Errorf("no_endpoint_total{model=no-such-model} grew by %v, want 1", d)
	}
}

func TestModelLabelCardinality(t *testing.T) {
	seenMu.Lock()
	seenModels = map[string]bool{}
	seenMu.Unlock()
	for i := 0; i < maxModelLabels; i++ {
		if got := modelLabel(string(rune('A' + i))); got == otherModel {
			t.Fatalf("name %d counted as other before the cap", i)
		}
	}
	if got := modelLabel("one-too-many"); got != otherModel {
		t.Errorf("modelLabel past the cap = %q, want %q", got, otherModel)
	}
	if got := modelLabel("A"); got != "A" {
		t.Errorf("known name = %q, want A", got)
	}
}

func TestFactory(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr string
	}{
		{"no parameters", ``, ""},
		{"null", `null`, ""},
		{"full", `{"sources":["label","models"],"labelKey":"k","keepUnknown":true}`, ""},
		{"bad source", `{"sources":["label","dns"]}`, `sources[1]: "dns"`},
		{"unknown field", `{"label":"k"}`, "unknown field"},
		{"not json", `{`, "invalid parameters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Factory("f", json.RawMessage(tc.raw), nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Factory: %v", err)
				}
				if p.TypedName().Type != Type {
					t.Errorf("type = %q", p.TypedName().Type)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Factory error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestProfileHandlerNamesModel(t *testing.T) {
	ok := &fwksched.ProfileRunResult{TargetEndpoints: []fwksched.Endpoint{endpoint(t, "a", nil, nil)}}
	tests := []struct {
		name     string
		results  map[string]*fwksched.ProfileRunResult
		recorded string // model recorded by the filter, "" for none
		wantErr  string // "" for success
	}{
		{"profile succeeded", map[string]*fwksched.ProfileRunResult{"default": ok}, "", ""},
		{"filter left nothing", map[string]*fwksched.ProfileRunResult{"default": nil}, "phi4-mini", `no endpoint serves model "phi4-mini"`},
		{"other failure keeps upstream error", map[string]*fwksched.ProfileRunResult{"default": nil}, "", "failed to run scheduler profile 'default'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := fwksched.NewCycleState()
			f, err := New("f", Parameters{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.recorded != "" {
				// The filter itself records the model when it keeps nothing.
				f.Filter(context.Background(), cs, &fwksched.LLMRequest{TargetModel: tc.recorded},
					[]fwksched.Endpoint{endpoint(t, "x", map[string]string{DefaultLabelKey: "other-model"}, nil)})
			}
			h := NewProfileHandler("h")
			res, err := h.ProcessResults(context.Background(), cs, &fwksched.LLMRequest{}, tc.results)
			if tc.wantErr == "" {
				if err != nil || res == nil || res.PrimaryProfileName != "default" {
					t.Fatalf("ProcessResults = %v, %v; want the default profile", res, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if pt := NewProfileHandler("h").TypedName(); pt.Type != ProfileHandlerType || pt.Name != "h" {
		t.Errorf("TypedName = %v", pt)
	}
}
