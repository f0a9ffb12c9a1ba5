package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/go-logr/logr"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/epp/config/loader"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/keyword"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/signal/similarity"
	"github.com/semantic-epp/semantic-epp/pkg/selection/decision"
)

const header = "# EndpointPickerConfig written by vsr-import from a vLLM Semantic Router config.\n" +
	"# Run: bin/epp --pool-name <pool> --config-file <this file>\n"

// encode writes cfg as block-style YAML in struct field order: it is
// marshalled to JSON (which keeps that order), parsed as a YAML node tree
// and re-encoded without the JSON flow style.
func encode(cfg eppConfig) ([]byte, error) {
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	var node yamlv3.Node
	if err := yamlv3.Unmarshal(js, &node); err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	blockStyle(&node)
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&node); err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	return buf.Bytes(), nil
}

func blockStyle(n *yamlv3.Node) {
	n.Style &^= yamlv3.FlowStyle | yamlv3.DoubleQuotedStyle
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// validate parses out the way bin/epp does (the GIE config loader), then
// checks the selector's decisions and the keyword rules with the packages
// that run them. Instantiating every plugin needs the selector wiring of
// signals and decisions, which comes with the selector itself.
func validate(out []byte, sel *selectorParams, rules []keyword.Rule, routes []similarity.Route) error {
	raw, _, err := loader.LoadRawConfig(out, logr.Discard())
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, p := range raw.Plugins {
		names[p.Name] = true
	}
	if raw.Parser == nil || !names[raw.Parser.PluginRef] {
		return fmt.Errorf("the parser does not reference the selector plugin")
	}
	set, err := decision.Compile(sel.Decisions)
	if err != nil {
		return err
	}
	if err := set.CheckSignals(func(s string) bool { return names[s] }); err != nil {
		return err
	}
	if len(rules) > 0 {
		if _, err := keyword.New(keywordSignalName, keyword.Parameters{Rules: rules}); err != nil {
			return err
		}
	}
	if len(routes) > 0 {
		if err := similarity.Check(similarity.Parameters{ClassifierRef: classifierName, Routes: routes}); err != nil {
			return fmt.Errorf("%s: %w", similaritySignalName, err)
		}
	}
	return nil
}
