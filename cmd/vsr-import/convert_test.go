package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
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
