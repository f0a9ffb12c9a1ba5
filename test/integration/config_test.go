package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	fwksched "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/scheduling"

	"github.com/semantic-epp/semantic-epp/pkg/plugins/semanticselector"
	"github.com/semantic-epp/semantic-epp/pkg/plugins/servedmodelfilter"
)

// TestConfigExamples loads every YAML under config/ through the upstream
// config loader with our plugins registered, and checks that the parser is
// the semantic selector and the default profile runs the served-model filter.
func TestConfigExamples(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../../config/*.yaml", "../../config/*.yml", "../../config/*/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no YAML under config/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			handle := fwkplugin.NewEppHandle(ctx, nil)
			cfg, err := loadConfig(ctx, readConfig(t, f), handle)
			if err != nil {
				t.Fatalf("upstream loader rejected %s: %v", f, err)
			}
			parser := cfg.ParserConfig.Parser
			if parser.TypedName().Type != semanticselector.Type {
				t.Errorf("parser is %v, want a %s", parser.TypedName(), semanticselector.Type)
			}
			foundFilter := false
			for _, p := range handle.GetAllPlugins() {
				if _, ok := p.(fwksched.Filter); ok && p.TypedName().Type == servedmodelfilter.Type {
					foundFilter = true
				}
			}
			if !foundFilter {
				t.Errorf("no %s instance in %s", servedmodelfilter.Type, f)
			}
			if len(cfg.SchedulerConfig.String()) == 0 {
				t.Error("empty scheduler config")
			}
		})
	}
}

// TestConfigErrors: start-up errors name the offending field.
func TestConfigErrors(t *testing.T) {
	const head = "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- name: sel\n  type: semantic-model-selector\n  parameters:\n"
	tests := []struct {
		name, params, want string
	}{
		{"unknown model in a category", "    models: [{name: a}]\n    defaultModel: a\n    categories:\n    - name: math\n      models: [{model: a}]\n    - name: law\n      models: [{model: b}]\n",
			`categories[1].models[0].model: unknown model "b"`},
		{"category not a classifier label", "    models: [{name: a}]\n    defaultModel: a\n    categories:\n    - name: cooking\n      models: [{model: a}]\n",
			`categories[0].name: "cooking" is not a classifier label`},
		{"unknown parameter", "    models: [{name: a}]\n    defaultModel: a\n    treshold: 0.5\n", `unknown field "treshold"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := loadConfig(ctx, []byte(head+tc.params+"parser:\n  pluginRef: sel\n"), fwkplugin.NewEppHandle(ctx, nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
