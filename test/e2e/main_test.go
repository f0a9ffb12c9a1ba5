//go:build e2e

// Package e2e tests the whole system end to end: a real kube-apiserver and
// etcd, the manifests of deploy/, simulated model-server pods in their own
// network namespaces, bin/epp as a separate process and the Envoy-like
// gateway (test/sandbox). Run with `make e2e` (part of `make test`); it needs
// root for the network namespaces.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/semantic-epp/semantic-epp/test/sandbox"
)

var (
	sb         *sandbox.Sandbox
	skipReason string
	// httpc bounds every request: a request stuck on a frozen pod fails the
	// test instead of hanging the suite.
	httpc = &http.Client{Timeout: 30 * time.Second}
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var err error
	start := time.Now()
	sb, err = sandbox.Start(ctx, sandbox.Options{
		RepoRoot: repoRoot(),
		// Reported load is steered per pod through POST /admin/config.
		SimArgs: []string{"--mode", "echo", "--max-num-seqs", "8",
			"--fake-metrics", `{"running-requests":0,"waiting-requests":0,"kv-cache-usage":0}`},
	})
	cancel()
	switch {
	case errors.Is(err, sandbox.ErrNoNetns):
		skipReason = err.Error()
		fmt.Println("e2e: skipping, this machine cannot run the sandbox:", skipReason)
	case err != nil:
		fmt.Fprintln(os.Stderr, "e2e: starting the sandbox:", err)
		os.Exit(1)
	default:
		fmt.Printf("e2e: sandbox up in %s (logs %s)\n", time.Since(start).Round(time.Millisecond), sb.LogDir())
	}
	code := m.Run()
	if sb != nil {
		logDir := sb.LogDir()
		if code != 0 {
			printTail(filepath.Join(logDir, "epp.log"), 60)
		}
		sb.Stop()
		if code == 0 {
			_ = os.RemoveAll(logDir) // keep the logs only when something failed
		} else {
			fmt.Println("e2e: logs kept in", logDir)
		}
	}
	os.Exit(code)
}

// printTail prints the last n lines of a log file, for CI output.
func printTail(path string, n int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	fmt.Printf("e2e: last %d lines of %s:\n%s\n", len(lines), path, strings.Join(lines, "\n"))
}

func need(t *testing.T) {
	t.Helper()
	if sb == nil {
		t.Skip(skipReason)
	}
}

// result is one gateway answer.
type result struct {
	status int
	pod    string // x-inference-pod: the simulator replica that served it
	model  string // the response body's "model"
	body   []byte
}

func complete(t *testing.T, body string) result {
	t.Helper()
	resp, err := httpc.Post(sb.GatewayURL+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", body, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	r := result{status: resp.StatusCode, pod: resp.Header.Get("x-inference-pod"), body: b}
	var v struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(b, &v) == nil {
		r.model = v.Model
	}
	return r
}

func req(model, prompt string) string {
	b, _ := json.Marshal(map[string]any{"model": model, "prompt": prompt, "max_tokens": 10})
	return string(b)
}

// podCounts sends n distinct prompts for model and counts serving pods.
func podCounts(t *testing.T, model string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		r := complete(t, req(model, fmt.Sprintf("request %d: %d %s", i, time.Now().UnixNano(), strings.Repeat("x", i))))
		if r.status != http.StatusOK {
			t.Fatalf("request %d for %s: %d %s", i, model, r.status, r.body)
		}
		counts[r.pod]++
	}
	return counts
}

// eventually retries check until it passes or the timeout ends.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func setLoad(t *testing.T, p *sandbox.SimPod, waiting int, kv float64) {
	t.Helper()
	body := fmt.Sprintf(`{"fake-metrics":{"running-requests":%d,"waiting-requests":%d,"kv-cache-usage":%g}}`, waiting/4, waiting, kv)
	resp, err := httpc.Post("http://"+p.Endpoint()+"/admin/config", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("steering %s metrics: %v", p.Name, err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("steering %s metrics: %d %s", p.Name, resp.StatusCode, b)
	}
}

// sseEvents reads a server-sent-event stream into its data payloads.
func sseEvents(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, d)
		} else if line != "" {
			t.Fatalf("unexpected stream line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading stream: %v", err)
	}
	return out
}
