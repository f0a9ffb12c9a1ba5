//go:build cgo

package domain

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"

	classifierplugin "github.com/semantic-epp/semantic-epp/pkg/plugins/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/selection"
)

// TestVSRModelDirAsSignal builds, as the config loader does (factory, then
// AddPlugin, in list order), a classifier plugin whose modelDir is a model
// directory in vLLM Semantic Router's layout and a domain-signal over it,
// for the ModernBERT and the mmBERT test models, and checks that the
// signal matches the label Python's ONNX Runtime gives.
func TestVSRModelDirAsSignal(t *testing.T) {
	for _, name := range []string{"vsr-modernbert", "vsr-mmbert"} {
		t.Run(name, func(t *testing.T) {
			dir, err := filepath.Abs(filepath.Join("..", "..", "..", "classifier", "loader", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			var ref struct {
				Cases []struct {
					Text  string `json:"text"`
					Label string `json:"label"`
				} `json:"cases"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &ref); err != nil || len(ref.Cases) == 0 {
				t.Fatalf("reference.json: %v", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := fwkplugin.NewEppHandle(ctx, nil)
			params, _ := json.Marshal(map[string]any{"backend": "onnx", "modelDir": dir, "cacheSize": 16})
			clf, err := classifierplugin.Factory("vsr-classifier", params, h)
			if err != nil {
				t.Fatalf("classifier plugin with modelDir %s: %v", dir, err)
			}
			h.AddPlugin("vsr-classifier", clf)
			p, err := Factory("domain", json.RawMessage(`{"classifierRef": "vsr-classifier"}`), h)
			if err != nil {
				t.Fatal(err)
			}
			s := p.(*Signal)
			if n := len(s.Labels()); n != 14 {
				t.Fatalf("%d labels, want the 14 of category_mapping.json", n)
			}
			for _, tc := range ref.Cases {
				got, err := s.Evaluate(ctx, &selection.Request{Text: tc.Text})
				if err != nil {
					t.Fatal(err)
				}
				if got.Label != tc.Label || got.Matches[tc.Label] != got.Confidence {
					t.Errorf("%q: label %q matches %v, want %q", tc.Text, got.Label, got.Matches, tc.Label)
				}
			}
		})
	}
}
