package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// linearConfig is config/semantic-epp.yaml's selector with the pure-Go
// backend, so the test needs no ONNX Runtime library.
const linearConfig = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- name: sel
  type: semantic-model-selector
  parameters:
    models: [{name: phi4-mini}, {name: llama3-8b}]
    categories:
    - name: math
      models: [{model: phi4-mini}]
    - name: computer science
      models: [{model: llama3-8b}]
    defaultModel: llama3-8b
    classifier: {backend: linear, modelDir: embedded}
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "epp.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startRouter(t *testing.T) extprocv3.ExternalProcessorClient {
	t.Helper()
	sel, err := selectorFromConfig(context.Background(), writeConfig(t, linearConfig))
	if err != nil {
		t.Fatalf("selectorFromConfig: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(srv, &router{sel: sel})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return extprocv3.NewExternalProcessorClient(conn)
}

func TestRouterRewritesAutoRequests(t *testing.T) {
	client := startRouter(t)
	tests := []struct {
		name       string
		body       string
		wantModel  string // "" = body left alone; "selected" = the x-selected-model value, not auto
		wantStatus int    // immediate response status, 0 for none
	}{
		{name: "auto is classified and rewritten", body: `{"model":"auto","prompt":"Solve for x: 3x + 7 = 22, then compute the integral of x^2 dx"}`, wantModel: "selected"},
		{name: "explicit model passes unchanged", body: `{"model":"phi4-mini","prompt":"hello"}`},
		{name: "malformed JSON gets a 400", body: `{"model":"auto",`, wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := client.Process(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{}}}); err != nil {
				t.Fatal(err)
			}
			if m, err := stream.Recv(); err != nil || m.GetRequestHeaders() == nil {
				t.Fatalf("header response %v, %v", m, err)
			}
			if err := stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(tc.body), EndOfStream: true}}}); err != nil {
				t.Fatal(err)
			}
			m, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			_ = stream.CloseSend()
			if tc.wantStatus != 0 {
				if got := int(m.GetImmediateResponse().GetStatus().GetCode()); got != tc.wantStatus {
					t.Fatalf("immediate status %d, want %d (%v)", got, tc.wantStatus, m)
				}
				return
			}
			common := m.GetRequestBody().GetResponse()
			if tc.wantModel == "" {
				if common.GetBodyMutation() != nil || common.GetHeaderMutation() != nil {
					t.Fatalf("explicit request mutated: %v", common)
				}
				return
			}
			var selected string
			for _, h := range common.GetHeaderMutation().GetSetHeaders() {
				if h.GetHeader().GetKey() == "x-selected-model" {
					selected = string(h.GetHeader().GetRawValue())
				}
			}
			var body map[string]any
			if err := json.Unmarshal(common.GetBodyMutation().GetBody(), &body); err != nil {
				t.Fatalf("new body: %v", err)
			}
			if selected == "" || selected == "auto" || body["model"] != selected || !strings.Contains(body["prompt"].(string), "integral") {
				t.Fatalf("x-selected-model %q, body %v", selected, body)
			}
		})
	}
}

func TestSelectorFromConfigErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"no selector plugin", "plugins:\n- type: queue-scorer\n", "no plugin of type semantic-model-selector"},
		{"bad parameters", "plugins:\n- name: s\n  type: semantic-model-selector\n  parameters: {treshold: 1}\n", "treshold"},
		{"not YAML", "plugins: [", "parsing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := selectorFromConfig(context.Background(), writeConfig(t, tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := selectorFromConfig(context.Background(), "/nonexistent/epp.yaml"); err == nil {
		t.Fatal("missing file: no error")
	}
}
