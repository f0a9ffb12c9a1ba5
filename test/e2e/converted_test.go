//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/semantic-epp/semantic-epp/test/gateway"
)

// guideChatRequests are the installation guide's four requests, as
// docs/deployment.md sends them (chat completions, the guide's prompts),
// with where the guide says each goes. Decision is the vLLM Semantic Router
// decision of an auto request ("" for a named model, which passes through).
var guideChatRequests = []struct {
	name, model, content, want, decision string
}{
	{"named llama3-8b", "llama3-8b", "Linux is said to be an open source kernel because ", "llama3-8b", ""},
	{"auto, computer science", "auto", "Linux is said to be an open source kernel because ", "llama3-8b", "computer science"},
	{"named phi4-mini", "phi4-mini", "2+2 is  ", "phi4-mini", ""},
	{"auto, math", "auto", "2+2 is  ", "phi4-mini", "math"},
}

// TestConvertedGuideConfig: the guide's vLLM Semantic Router config
// (../shared/data/vsr/istio-config.yaml), converted by bin/vsr-import, runs
// as an EPP of the sandbox's pool (whose pods serve the two models the config
// names), and the guide's four requests route as the guide says: serving pod,
// response model, decision headers to the client, and, from the gateway's
// record of the upstream request, the model, headers and messages the model
// server received. The guide's config disables its system prompts, so the
// model server must get the client's messages unchanged; the same config
// with them enabled must deliver the decision's prompt as the system message.
// (The file sorts before e2e_test.go, whose last test deletes the phi4-mini pods.)
func TestConvertedGuideConfig(t *testing.T) {
	need(t)
	src := filepath.Join(repoRoot(), "..", "shared", "data", "vsr", "istio-config.yaml")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("the guide's router config is not here (%v); it comes with the shared data folder", err)
	}
	var router map[string]any
	if err := yaml.Unmarshal(raw, &router); err != nil {
		t.Fatalf("%s: %v", src, err)
	}

	t.Run("as the guide ships it", func(t *testing.T) {
		url, upstream := startConverted(t, src, "epp-vsr-import.log")
		for _, tc := range guideChatRequests {
			t.Run(tc.name, func(t *testing.T) {
				got := sendGuideRequest(t, url, upstream, tc.model, tc.content, tc.want, tc.decision)
				if want := []any{map[string]any{"role": "user", "content": tc.content}}; !reflect.DeepEqual(got, want) {
					t.Errorf("model server received messages %v, want the client's %v (the guide's system prompts are disabled)", got, want)
				}
			})
		}
	})

	t.Run("system prompts enabled", func(t *testing.T) {
		prompts := enableSystemPrompts(t, router)
		enabled, err := yaml.Marshal(router)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "istio-config-prompts.yaml")
		if err := os.WriteFile(path, enabled, 0o600); err != nil {
			t.Fatal(err)
		}
		url, upstream := startConverted(t, path, "epp-vsr-import-prompts.log")
		for _, tc := range guideChatRequests {
			t.Run(tc.name, func(t *testing.T) {
				got := sendGuideRequest(t, url, upstream, tc.model, tc.content, tc.want, tc.decision)
				want := []any{map[string]any{"role": "user", "content": tc.content}}
				if tc.decision != "" {
					// mode replace, no system message in the request: a new one in front.
					want = append([]any{map[string]any{"role": "system", "content": prompts[tc.decision]}}, want...)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("model server received messages %v, want %v", got, want)
				}
			})
		}
	})
}

// startConverted converts a router config with bin/vsr-import, starts an
// EPP of the pool with the result and a gateway that records the upstream
// requests, and returns the gateway URL and the record.
func startConverted(t *testing.T, routerConfig, logName string) (string, chan gateway.AccessLogEntry) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "semantic-epp.yaml")
	bin := filepath.Join(repoRoot(), "bin", "vsr-import")
	var report bytes.Buffer
	cmd := exec.Command(bin, "-o", out, routerConfig)
	cmd.Stderr = &report
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s -o %s %s (make build builds it): %v\n%s", bin, out, routerConfig, err, report.String())
	}
	t.Logf("vsr-import report:\n%s", report.String())
	checkModelsServed(t, out)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	epp, err := sb.StartExtraEPP(ctx, out, logName, nil)
	if err != nil {
		t.Fatalf("EPP with the converted config: %v", err)
	}
	t.Cleanup(func() { _ = epp.Stop() })
	upstream := make(chan gateway.AccessLogEntry, 16)
	url, stop, err := gateway.ServeLoopback(ctx, gateway.Config{
		ExtProcAddress: epp.Address(), ExtProcTLS: true, LogUpstreamRequests: true,
		AccessLog: func(e gateway.AccessLogEntry) { upstream <- e },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url, upstream
}

// checkModelsServed fails when the converted config names a model that no
// pod of the sandbox serves (deploy/model-servers): the guide's models are
// llama3-8b and phi4-mini, which the sandbox's simulators serve.
func checkModelsServed(t *testing.T, config string) {
	t.Helper()
	raw, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Plugins []struct {
			Type       string `json:"type"`
			Parameters struct {
				Models []struct {
					Name string `json:"name"`
				} `json:"models"`
			} `json:"parameters"`
		} `json:"plugins"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("converted config: %v", err)
	}
	n := 0
	for _, p := range cfg.Plugins {
		if p.Type != "semantic-model-selector" {
			continue
		}
		for _, m := range p.Parameters.Models {
			n++
			if len(sb.PodsOf(m.Name)) == 0 {
				t.Fatalf("the converted config names model %q, which no sandbox pod serves (deploy/model-servers)", m.Name)
			}
		}
	}
	if n == 0 {
		t.Fatalf("the converted config %s declares no models", config)
	}
}

// sendGuideRequest sends one guide request, checks where it went and what
// the client and the model server saw, and returns the messages the model
// server received.
func sendGuideRequest(t *testing.T, url string, upstream chan gateway.AccessLogEntry, model, content, want, decision string) []any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": model, "max_tokens": 100, "temperature": 0,
		"messages": []map[string]string{{"role": "user", "content": content}}})
	resp, err := httpc.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	if pod := resp.Header.Get("x-inference-pod"); out.Model != want || !strings.HasPrefix(pod, want+"-") {
		t.Errorf("response model %q from pod %q, want %s", out.Model, pod, want)
	}
	// Auto requests tell the client the decision; named ones pass through.
	wantClient := map[string]string{"x-selected-model": "", "x-selected-decision": ""}
	if decision != "" {
		wantClient = map[string]string{"x-selected-model": want, "x-selected-decision": decision}
	}
	for k, v := range wantClient {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("response header %s %q, want %q", k, got, v)
		}
	}

	var e gateway.AccessLogEntry
	select {
	case e = <-upstream:
	case <-time.After(5 * time.Second):
		t.Fatal("the gateway logged no request")
	}
	if got := e.UpstreamHeader.Get("x-selected-model"); got != want {
		t.Errorf("model server got x-selected-model %q, want %q", got, want)
	}
	if got := e.UpstreamHeader.Get("x-selected-decision"); got != decision {
		t.Errorf("model server got x-selected-decision %q, want %q", got, decision)
	}
	var sent struct {
		Model    string `json:"model"`
		Messages []any  `json:"messages"`
	}
	if err := json.Unmarshal(e.UpstreamBody, &sent); err != nil {
		t.Fatalf("upstream body %q: %v", e.UpstreamBody, err)
	}
	if sent.Model != want {
		t.Errorf("model server got body model %q, want %q", sent.Model, want)
	}
	return sent.Messages
}

// enableSystemPrompts switches on every system_prompt plugin of the router
// config's decisions and returns each decision's prompt by name.
func enableSystemPrompts(t *testing.T, router map[string]any) map[string]string {
	t.Helper()
	routing, _ := router["routing"].(map[string]any)
	decisions, _ := routing["decisions"].([]any)
	prompts := map[string]string{}
	for _, d := range decisions {
		dm, _ := d.(map[string]any)
		plugins, _ := dm["plugins"].([]any)
		for _, p := range plugins {
			pm, _ := p.(map[string]any)
			cfg, _ := pm["configuration"].(map[string]any)
			if pm["type"] != "system_prompt" || cfg == nil {
				continue
			}
			cfg["enabled"] = true
			prompts[fmt.Sprint(dm["name"])] = fmt.Sprint(cfg["system_prompt"])
		}
	}
	for _, tc := range guideChatRequests {
		if _, ok := prompts[tc.decision]; tc.decision != "" && !ok {
			t.Fatalf("the router config has no system_prompt plugin for decision %q", tc.decision)
		}
	}
	return prompts
}
