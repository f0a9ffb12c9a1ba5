//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/test/gateway"
	"github.com/semantic-epp/semantic-epp/test/sandbox"
)

// dashboardPath is the Grafana dashboard whose queries TestDashboardQueries checks.
const dashboardPath = "deploy/grafana/semantic-epp-dashboard.json"

// dashboardQueries returns every PromQL expression of the dashboard's
// panels (rows' nested panels included), keyed "panel title / refId".
func dashboardQueries(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", path, err)
	}
	out := map[string]string{}
	var walk func([]json.RawMessage) error
	walk = func(ps []json.RawMessage) error {
		for _, m := range ps {
			var p panel
			if err := json.Unmarshal(m, &p); err != nil {
				return fmt.Errorf("dashboard %s: panel: %w", path, err)
			}
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) != "" {
					out[p.Title+" / "+t.RefID] = t.Expr
				}
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dashboard %s has no queries", path)
	}
	return out, nil
}

// TestDashboardQueries runs first (its file sorts before e2e_test.go, whose
// last test deletes the phi4-mini pods). It runs a real Prometheus server (the Debian package,
// installed by make e2e-deps) that scrapes an EPP of the sandbox, sends
// traffic that exercises every decision path (category, default fallback,
// saturation fallback, explicit model) and checks that every query of the
// Grafana dashboard returns at least one series. It runs all queries and
// names each one that returned nothing.
func TestDashboardQueries(t *testing.T) {
	need(t)
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (make e2e-deps installs the Debian package): %v", err)
	}
	queries, err := dashboardQueries(filepath.Join(repoRoot(), dashboardPath))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// A second EPP for the same pool whose metrics port answers without
	// Kubernetes auth (the sandbox's default EPP keeps the upstream default);
	// the load-aware config when it exists, since the dashboard shows its metrics.
	config := "config/semantic-epp-load-aware.yaml"
	if _, err := os.Stat(filepath.Join(repoRoot(), config)); err != nil {
		config = "config/semantic-epp.yaml"
	}
	t.Logf("EPP config %s", config)
	epp, err := sb.StartExtraEPP(ctx, config, "epp-prometheus.log", []string{"--metrics-endpoint-auth=false"})
	if err != nil {
		t.Fatalf("EPP for Prometheus: %v", err)
	}
	t.Cleanup(func() { _ = epp.Stop() })
	gwURL, stopGW, err := gateway.ServeLoopback(ctx, gateway.Config{ExtProcAddress: epp.Address(), ExtProcTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stopGW()

	promURL := startPrometheus(t, promBin, fmt.Sprintf("127.0.0.1:%d", epp.MetricsPort))
	sendDashboardTraffic(t, gwURL)
	// Counters appear at their first increment: scrapes before and after
	// give rate() two samples.
	time.Sleep(4 * time.Second)

	var empty []string
	names := make([]string, 0, len(queries))
	for n := range queries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		q := strings.ReplaceAll(queries[name], "$__rate_interval", "1m")
		n, err := promSeries(ctx, promURL, q)
		switch {
		case err != nil:
			t.Errorf("%s: %s: %v", name, q, err)
		case n == 0:
			empty = append(empty, fmt.Sprintf("%s: %s", name, q))
		default:
			t.Logf("%s: %d series", name, n)
		}
	}
	if len(empty) > 0 {
		t.Errorf("%d of %d dashboard queries returned no series (EPP config %s):\n  %s",
			len(empty), len(queries), config, strings.Join(empty, "\n  "))
	}
}

// startPrometheus runs prometheus on loopback, scraping target every
// second, and returns its URL once it is ready and has scraped the target.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n- job_name: semantic-epp\n  static_configs:\n  - targets: [%q]\n", target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	logf, err := os.Create(filepath.Join(sb.LogDir(), "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = logf.Close()
	})
	promURL := "http://" + addr
	eventually(t, 60*time.Second, "prometheus scrapes the EPP (log "+logf.Name()+")", func() error {
		n, err := promSeries(context.Background(), promURL, `up{job="semantic-epp"} == 1`)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("target %s not up yet", target)
		}
		return nil
	})
	return promURL
}

// promSeries runs an instant query and returns how many series it returned.
func promSeries(ctx context.Context, promURL, query string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, promURL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return 0, err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	var v struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, fmt.Errorf("query answer %q: %w", b, err)
	}
	if v.Status != "success" {
		return 0, fmt.Errorf("query failed: %s", v.Error)
	}
	return len(v.Data.Result), nil
}

// sendDashboardTraffic sends requests down every path the dashboard shows:
// math and computer-science prompts (category), a prompt of another
// subject (default fallback), an explicit model, and math while the
// phi4-mini pods report a saturated queue (saturation fallback, with the
// load-aware config).
func sendDashboardTraffic(t *testing.T, gwURL string) {
	t.Helper()
	post := func(model, prompt string) {
		resp, err := httpc.Post(gwURL+"/v1/completions", "application/json", strings.NewReader(req(model, prompt)))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %q: %d %s", model, prompt, resp.StatusCode, b)
		}
	}
	prompts := []string{
		"What is the integral of x squared from 0 to 3?",
		"Explain how a hash table resolves collisions in a compiler's symbol table.",
		"Which painter cut off part of his own ear in 1888?",
	}
	for i := 0; i < 3; i++ {
		for _, p := range prompts {
			post("auto", fmt.Sprintf("%s (%d)", p, i))
		}
		post("llama3-8b", fmt.Sprintf("Say hello %d.", i))
	}
	phi := sb.PodsOf("phi4-mini")
	for _, p := range phi {
		setLoad(t, p, 50, 0.95)
	}
	defer func(ps []*sandbox.SimPod) {
		for _, p := range ps {
			setLoad(t, p, 0, 0)
		}
	}(phi)
	time.Sleep(500 * time.Millisecond) // the EPP scrapes every 50 ms
	for i := 0; i < 5; i++ {
		post("auto", fmt.Sprintf("Solve the equation 3x + 7 = %d for x.", 20+i))
	}
}
