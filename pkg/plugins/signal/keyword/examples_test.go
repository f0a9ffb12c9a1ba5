package keyword

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/config/loader"

	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

// TestConfigExamples builds every keyword-signal plugin of config/*.yaml and
// compiles every selector's decisions, checking that each signal a decision
// references is a configured plugin. (Loading the whole config in bin/epp is
// tested with the selector, which owns the signals and decisions fields.)
func TestConfigExamples(t *testing.T) {
	files, err := filepath.Glob("../../../../config/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no config examples: %v", err)
	}
	keywordPlugins, decisionSets := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := loader.LoadRawConfig(raw, logr.Discard())
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		names := map[string]bool{}
		for _, p := range cfg.Plugins {
			names[p.Name] = true
		}
		for _, p := range cfg.Plugins {
			switch p.Type {
			case Type:
				keywordPlugins++
				if _, err := Factory(p.Name, p.Parameters, nil); err != nil {
					t.Errorf("%s: plugin %s: %v", f, p.Name, err)
				}
			case "semantic-model-selector":
				var sel struct {
					Decisions []decision.Decision `json:"decisions"`
				}
				if err := json.Unmarshal(p.Parameters, &sel); err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				if len(sel.Decisions) == 0 {
					continue
				}
				decisionSets++
				set, err := decision.Compile(sel.Decisions)
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				if err := set.CheckSignals(func(s string) bool { return names[s] }); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
		}
	}
	if keywordPlugins == 0 || decisionSets == 0 {
		t.Fatalf("found %d keyword-signal plugins and %d decision sets in config/, want some of each", keywordPlugins, decisionSets)
	}
}
