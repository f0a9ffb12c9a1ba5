package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/similarity"
)

const small = `
version: v0.3
providers:
  defaults:
    default_model: a
    reasoning_families:
      qwen3: {type: chat_template_kwargs, parameter: enable_thinking}
  models:
  - {name: a, reasoning_family: qwen3}
routing:
  signals:
    domains:
    - {name: stem, mmlu_categories: [math, physics]}
    keywords:
    - {name: urgent, operator: OR, keywords: [urgent, asap]}
    - {name: none_of, operator: NOR, keywords: [x]}
  decisions:
  - name: stem_urgent
    priority: 5
    rules:
      operator: AND
      conditions:
      - {type: domain, name: stem}
      - operator: NOT
        conditions: [{type: keyword, name: urgent}]
    modelRefs: [{model: a, use_reasoning: true}, {model: b, use_reasoning: true}]
    plugins:
    - type: system_prompt
      configuration: {system_prompt: "Be exact.", mode: replace}
    - type: semantic-cache
      configuration: {enabled: true}
  - name: nor
    rules: {operator: OR, conditions: [{type: keyword, name: none_of}]}
    modelRefs: [{model: a}]
  mystery: 1
`

func TestConvertSmall(t *testing.T) {
	out, rep, err := Convert([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Plugins []struct {
			Name       string         `json:"name"`
			Parameters map[string]any `json:"parameters"`
		} `json:"plugins"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var sel map[string]any
	for _, p := range cfg.Plugins {
		if p.Name == selectorName {
			sel = p.Parameters
		}
	}
	ds := sel["decisions"].([]any)
	if len(ds) != 1 {
		t.Fatalf("decisions = %v, want only stem_urgent (nor uses an untranslatable keyword rule)", ds)
	}
	d, _ := yaml.Marshal(ds[0])
	for _, want := range []string{
		"name: math", "name: physics", // the domain expands to its MMLU labels
		"operator: NOT", "signal: keywords", "reasoning: true",
		"mode: replace", "text: Be exact.",
	} {
		if !strings.Contains(string(d), want) {
			t.Errorf("decision lacks %q:\n%s", want, d)
		}
	}
	models, _ := yaml.Marshal(sel["models"])
	if !strings.Contains(string(models), "name: b") {
		t.Errorf("undeclared model b is not declared:\n%s", models)
	}
	report := strings.Join(rep.Lines, "\n")
	for _, want := range []string{
		"routing.mystery", "semantic-cache", `operator "NOR"`, "decisions[1] (nor)", `model "b" is referenced`,
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.yaml")
	if err := os.WriteFile(in, []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "out.yaml")
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-o", outPath, in}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc = %d, stderr: %s", rc, stderr.String())
	}
	if !strings.Contains(stderr.String(), "vsr-import: not translated: routing.mystery") {
		t.Errorf("stderr lacks the report: %s", stderr.String())
	}
	if b, err := os.ReadFile(outPath); err != nil || !bytes.Contains(b, []byte("kind: EndpointPickerConfig")) {
		t.Errorf("output file: %v %s", err, b)
	}
	for _, tc := range []struct {
		args []string
		rc   int
	}{{nil, 2}, {[]string{filepath.Join(dir, "missing.yaml")}, 1}} {
		stderr.Reset()
		if rc := run(tc.args, &stdout, &stderr); rc != tc.rc {
			t.Errorf("run(%v) = %d, want %d (%s)", tc.args, rc, tc.rc, stderr.String())
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("kind: Service\napiVersion: v1\n"), 0o644)
	stderr.Reset()
	if rc := run([]string{bad}, &stdout, &stderr); rc != 1 || !strings.Contains(stderr.String(), "not a vLLM Semantic Router config") {
		t.Errorf("run(bad) = %d, %s", rc, stderr.String())
	}
}

const embeddings = `
version: v0.3
providers:
  defaults: {default_model: a}
  models: [{name: a}, {name: b}]
routing:
  signals:
    embeddings:
    - {name: support, threshold: 0.7, aggregation_method: MAX, candidates: [installation guide, error message]}
    - {name: billing, threshold: 0.6, aggregation_method: any, candidates: [refund my order]}
    - {name: loose, threshold: 1.5, candidates: [x]}
    - {name: summed, threshold: 0.5, aggregation_method: sum, candidates: [x]}
    - {name: empty, threshold: 0.5}
    - {name: photos, threshold: 0.1, query_modality: image, candidates: [a photo]}
  decisions:
  - name: help
    rules: {operator: OR, conditions: [{type: embedding, name: support}, {type: embedding, name: billing}]}
    modelRefs: [{model: b}]
  - name: lost
    rules: {operator: OR, conditions: [{type: embedding, name: loose}]}
    modelRefs: [{model: b}]
global:
  model_catalog:
    embeddings:
      semantic:
        embedding_config: {model_type: qwen3}
`

// TestConvertEmbeddings: embedding signals become one similarity-signal over
// the embedded classifier; rules it cannot run are reported and dropped, and
// the report names the router's embedding model.
func TestConvertEmbeddings(t *testing.T) {
	out, rep, err := Convert([]byte(embeddings))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Plugins []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Parameters struct {
				ClassifierRef string             `json:"classifierRef"`
				Routes        []similarity.Route `json:"routes"`
				Decisions     []any              `json:"decisions"`
			} `json:"parameters"`
		} `json:"plugins"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, p := range cfg.Plugins {
		types[p.Type]++
		switch p.Name {
		case similaritySignalName:
			if p.Parameters.ClassifierRef != classifierName {
				t.Errorf("classifierRef %q, want %q", p.Parameters.ClassifierRef, classifierName)
			}
			var names []string
			for _, r := range p.Parameters.Routes {
				names = append(names, r.Name+"/"+r.Aggregation)
			}
			if got := strings.Join(names, ","); got != "support/max,billing/any" {
				t.Errorf("routes %s, want support/max,billing/any", got)
			}
		case selectorName:
			if len(p.Parameters.Decisions) != 1 {
				t.Errorf("decisions %v, want only help", p.Parameters.Decisions)
			}
		}
	}
	if types[classifierType] != 1 || types["similarity-signal"] != 1 || types[domainSignalType] != 0 {
		t.Errorf("plugin types %v, want one classifier, one similarity-signal, no domain-signal", types)
	}
	report := strings.Join(rep.Lines, "\n")
	for _, want := range []string{
		`embeddings[2] (loose): threshold 1.5 is outside [0, 1]`,
		`embeddings[3] (summed): aggregation_method "sum"`,
		`embeddings[4] (empty): no candidates`,
		`embeddings[5] (photos): query_modality "image"`,
		`decisions[1] (lost): embedding signal "loose" is not translated`,
		`the router embeds with its "qwen3" embedding model`,
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
