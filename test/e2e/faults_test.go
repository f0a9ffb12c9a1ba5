//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/test/gateway"
	"github.com/semantic-epp/semantic-epp/test/sandbox"
	"github.com/semantic-epp/semantic-epp/test/scrape"
)

// TestFaults injects faults into a sandbox of its own (so the suite's
// sandbox stays intact): simulators with real latency, so that a stream
// lasts seconds, and classifierTimeout cut to 1ms, so that a classification
// of a large prompt that misses the cache cannot finish in time (a real
// ONNX run takes several ms). Explicit requests never touch the classifier.
func TestFaults(t *testing.T) {
	need(t)
	dir := t.TempDir()
	open := writeConfig(t, dir, "open.yaml", "open")
	closed := writeConfig(t, dir, "closed.yaml", "closed")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	fs, err := sandbox.Start(ctx, sandbox.Options{
		RepoRoot: repoRoot(), EPPConfig: open, EPPArgs: []string{"--metrics-endpoint-auth=false"},
		SimArgs: []string{"--mode", "echo", "--max-num-seqs", "16", "--time-to-first-token", "20ms", "--inter-token-latency", "50ms"},
		Out:     os.Stderr,
	})
	if err != nil {
		t.Fatalf("fault sandbox: %v", err)
	}
	defer fs.Stop()
	t.Run("classifier slowed past classifierTimeout", func(t *testing.T) { classifierTimeouts(t, ctx, fs, closed) })
	t.Run("EPP restarted under load", func(t *testing.T) { eppRestartUnderLoad(t, ctx, fs) })
	t.Run("kube-apiserver restarted", func(t *testing.T) { apiServerRestart(t, ctx, fs) })
	t.Run("model server killed mid-stream", func(t *testing.T) { podKilledMidStream(t, ctx, fs) })
}

// writeConfig is config/semantic-epp.yaml with classifierTimeout 1ms and
// the given failurePolicy.
func writeConfig(t *testing.T, dir, name, policy string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "config", "semantic-epp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, repl := range map[string]string{"classifierTimeout: 200ms": "classifierTimeout: 1ms", "failurePolicy: open": "failurePolicy: " + policy} {
		if !strings.Contains(s, old) {
			t.Fatalf("config/semantic-epp.yaml has no %q", old)
		}
		s = strings.Replace(s, old, repl, 1)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type answer struct {
	status int
	pod    string
	model  string
	body   string
	err    error
}

func post(url, path, body string) answer {
	resp, err := httpc.Post(url+path, "application/json", strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	var b strings.Builder
	_, err = bufio.NewReader(resp.Body).WriteTo(&b)
	a := answer{status: resp.StatusCode, pod: resp.Header.Get("x-inference-pod"), body: b.String(), err: err}
	var v struct {
		Model string `json:"model"`
	}
	if json.Unmarshal([]byte(a.body), &v) == nil {
		a.model = v.Model
	}
	return a
}

// parallel sends n bodies from 16 workers and returns the answers.
func parallel(url string, bodies []string) []answer {
	out := make([]answer, len(bodies))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = post(url, "/v1/completions", bodies[i])
			}
		}()
	}
	for i := range bodies {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func metric(t *testing.T, e *sandbox.EPP, name, label string) float64 {
	t.Helper()
	v, _, err := scrape.Metric(context.Background(), fmt.Sprintf("http://127.0.0.1:%d/metrics", e.MetricsPort), name, label)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// bigMathPrompts are unique (no cache hit) math prompts of ~130 tokens (the
// echoing simulator streams each back at its inter-token latency):
// phi4-mini when classified, the default llama3-8b when not.
func bigMathPrompts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = req("auto", fmt.Sprintf("%d: solve for x: %s", time.Now().UnixNano()+int64(i), strings.Repeat("2x + 3 = 7, integrate x squared, ", 12)))
	}
	return out
}

func classifierTimeouts(t *testing.T, ctx context.Context, fs *sandbox.Sandbox, closedConfig string) {
	const n = 64
	timeouts := func(e *sandbox.EPP, m string) float64 {
		return metric(t, e, m, `reason="classifier_timeout"`)
	}
	// Fail-open: every timed-out request goes to defaultModel, counted.
	before := timeouts(fs.EPP, "semantic_epp_selector_fallbacks_total")
	start := time.Now()
	answers := parallel(fs.GatewayURL, bigMathPrompts(n))
	toDefault, failed := 0, 0
	for i, a := range answers {
		switch {
		case a.err != nil || a.status != http.StatusOK:
			if failed++; failed > 3 {
				continue
			}
			t.Errorf("fail-open request %d: %d %v %.200s", i, a.status, a.err, a.body)
		case a.model == "llama3-8b":
			toDefault++
		case a.model != "phi4-mini":
			t.Errorf("fail-open request %d: model %q, want phi4-mini (classified) or llama3-8b (default)", i, a.model)
		}
	}
	got := timeouts(fs.EPP, "semantic_epp_selector_fallbacks_total") - before
	t.Logf("fail-open: %d of %d requests to the default model, fallbacks_total{reason=classifier_timeout} +%.0f, %s", toDefault, n, got, time.Since(start).Round(time.Millisecond))
	// A classification may still beat 1ms on an idle machine; most cannot.
	if float64(toDefault) != got || toDefault < n/2 {
		t.Errorf("fail-open: %d requests answered by the default model, %.0f timeouts counted; want them equal and most of %d", toDefault, got, n)
	}
	// Fail-closed: a second EPP with failurePolicy closed behind its own
	// gateway rejects instead, counted; nothing hangs (httpc bounds each).
	e, err := fs.StartExtraEPP(ctx, closedConfig, "epp-closed.log", []string{"--metrics-endpoint-auth=false"})
	if err != nil {
		t.Fatal(err)
	}
	url := startGateway(t, ctx, e.Address())
	before = timeouts(e, "semantic_epp_selector_rejections_total")
	answers = parallel(url, bigMathPrompts(n))
	rejected, statuses := 0, map[int]int{}
	for i, a := range answers {
		statuses[a.status]++
		switch {
		case a.err != nil:
			t.Errorf("fail-closed request %d: %v", i, a.err)
		case a.status >= 400:
			rejected++
		case a.model != "phi4-mini":
			t.Errorf("fail-closed request %d served by %q: only a classified request (phi4-mini) may be served", i, a.model)
		}
	}
	got = timeouts(e, "semantic_epp_selector_rejections_total") - before
	t.Logf("fail-closed: statuses %v, rejections_total{reason=classifier_timeout} +%.0f, sample %.200s", statuses, got, answers[0].body)
	if float64(rejected) != got || rejected < n/2 {
		t.Errorf("fail-closed: %d requests rejected, %.0f rejections counted; want them equal and most of %d", rejected, got, n)
	}
}

func startGateway(t *testing.T, ctx context.Context, extProc string) string {
	t.Helper()
	gw, err := gateway.New(gateway.Config{ExtProcAddress: extProc, ExtProcTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := gw.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = gw.Serve(gctx, ln) }()
	t.Cleanup(func() { stop(); <-done; _ = gw.Close() })
	return "http://" + ln.Addr().String()
}

// load sends explicit requests from 8 workers until stop is closed and
// returns every answer.
func load(url string, stop <-chan struct{}) func() []answer {
	var mu sync.Mutex
	var out []answer
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				model := []string{"llama3-8b", "phi4-mini"}[i%2]
				a := post(url, "/v1/completions", fmt.Sprintf(`{"model":%q,"prompt":"load %d","max_tokens":2}`, model, i))
				mu.Lock()
				out = append(out, a)
				mu.Unlock()
				if a.status != http.StatusOK {
					time.Sleep(10 * time.Millisecond) // a client backing off, not a busy loop
				}
			}
		}()
	}
	return func() []answer { wg.Wait(); return out }
}

func tally(as []answer) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		k := fmt.Sprint(a.status)
		if a.err != nil {
			k = "transport error"
		}
		m[k]++
	}
	return m
}

// eppRestartUnderLoad: while the EPP restarts the gateway fails closed
// (failure_mode_allow off, as GIE's envoy.yaml and deploy/ configure it):
// those requests get 500 at once, none hangs, and once the EPP is back
// every request is served again.
func eppRestartUnderLoad(t *testing.T, ctx context.Context, fs *sandbox.Sandbox) {
	stop := make(chan struct{})
	wait := load(fs.GatewayURL, stop)
	time.Sleep(2 * time.Second)
	start := time.Now()
	if err := fs.RestartEPP(ctx); err != nil {
		close(stop)
		wait()
		t.Fatal(err)
	}
	restart := time.Since(start)
	time.Sleep(2 * time.Second)
	close(stop)
	during := tally(wait())
	t.Logf("EPP restart (%s) under load: %v", restart.Round(time.Millisecond), during)
	for k := range during {
		if k != "200" && k != "500" {
			t.Errorf("answer %s during the restart; want 200 or the fail-closed 500", k)
		}
	}
	after := parallel(fs.GatewayURL, []string{req("llama3-8b", "after"), req("phi4-mini", "after"), req("llama3-8b", "again"), req("phi4-mini", "again")})
	if m := tally(after); m["200"] != len(after) {
		t.Errorf("after the EPP restart: %v, want all 200", m)
	}
}

// apiServerRestart: with the API server down the EPP keeps routing on its
// last view of the pool; after the restart it watches again: a pod turned
// unready through the new API server stops getting traffic.
func apiServerRestart(t *testing.T, ctx context.Context, fs *sandbox.Sandbox) {
	stop := make(chan struct{})
	wait := load(fs.GatewayURL, stop)
	if err := fs.RestartAPIServer(ctx, 5*time.Second); err != nil {
		close(stop)
		wait()
		t.Fatal(err)
	}
	close(stop)
	during := tally(wait())
	t.Logf("answers while the kube-apiserver was down and restarting: %v", during)
	if len(during) != 1 || during["200"] == 0 {
		t.Errorf("while the API server was down: %v, want every request served", during)
	}
	p := fs.PodsOf("llama3-8b")[0]
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Resume() }()
	eventually(t, 60*time.Second, "the EPP sees the pod turn unready through the restarted API server", func() error {
		if p.Ready() {
			return fmt.Errorf("%s still ready", p.Name)
		}
		for i := 0; i < 6; i++ {
			if a := post(fs.GatewayURL, "/v1/completions", req("llama3-8b", fmt.Sprint("after api restart ", i))); a.pod == p.Name || a.status != 200 {
				return fmt.Errorf("request %d: %d from %q", i, a.status, a.pod)
			}
		}
		return nil
	})
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the resumed pod serves again", func() error {
		for i := 0; i < 8; i++ {
			if a := post(fs.GatewayURL, "/v1/completions", req("llama3-8b", fmt.Sprint("resumed ", i))); a.pod == p.Name {
				return nil
			}
		}
		return fmt.Errorf("%s got none of 8 requests", p.Name)
	})
}

// podKilledMidStream: a model server dies while it streams. That client
// sees its stream cut (no [DONE]); requests to the other model are all
// served; once the pod is unready the killed pod gets no new request and
// its model is served by the survivor.
func podKilledMidStream(t *testing.T, ctx context.Context, fs *sandbox.Sandbox) {
	body := `{"model":"llama3-8b","max_tokens":60,"stream":true,"prompt":"` + strings.Repeat("word ", 60) + `"}`
	resp, err := httpc.Post(fs.GatewayURL+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	victim := resp.Header.Get("x-inference-pod")
	var vp *sandbox.SimPod
	for _, p := range fs.PodsOf("llama3-8b") {
		if p.Name == victim {
			vp = p
		}
	}
	if resp.StatusCode != 200 || vp == nil {
		t.Fatalf("stream: %d from %q", resp.StatusCode, victim)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		t.Fatalf("no first event: %v", sc.Err())
	}
	stop := make(chan struct{})
	others := make(chan map[string]int)
	go func() { // the other model, all along
		var as []answer
		for i := 0; ; i++ {
			select {
			case <-stop:
				others <- tally(as)
				return
			default:
			}
			as = append(as, post(fs.GatewayURL, "/v1/completions", req("phi4-mini", fmt.Sprint("meanwhile ", i))))
		}
	}()
	if err := vp.Kill(); err != nil {
		t.Fatal(err)
	}
	done := false
	for sc.Scan() {
		if sc.Text() == "data: [DONE]" {
			done = true
		}
	}
	t.Logf("stream from the killed %s: [DONE]=%v, read error %v", victim, done, sc.Err())
	if done {
		t.Errorf("the stream of the killed pod ended with [DONE]")
	}
	eventually(t, 30*time.Second, "the killed pod turns unready", func() error {
		if vp.Ready() {
			return fmt.Errorf("%s still ready", vp.Name)
		}
		return nil
	})
	// The EPP learns of it through its pod watch, which a loaded CI machine
	// can delay by seconds; until then a request it sends to the dead pod
	// gets the gateway's 503, as from Envoy.
	eventually(t, 30*time.Second, "the EPP stops sending requests to the killed pod", func() error {
		for i := 0; i < 8; i++ {
			if a := post(fs.GatewayURL, "/v1/completions", req("llama3-8b", fmt.Sprint("probe after the kill ", i))); a.status != 200 || a.pod == victim {
				return fmt.Errorf("probe %d: %d from %q", i, a.status, a.pod)
			}
		}
		return nil
	})
	as := parallel(fs.GatewayURL, func() []string {
		var b []string
		for i := 0; i < 16; i++ {
			b = append(b, req("llama3-8b", fmt.Sprint("after the kill ", i)))
		}
		return b
	}())
	for i, a := range as {
		if a.status != 200 || a.pod == victim {
			t.Errorf("llama3-8b request %d after the kill: %d from %q %v", i, a.status, a.pod, a.err)
		}
	}
	close(stop)
	if m := <-others; len(m) != 1 || m["200"] == 0 {
		t.Errorf("phi4-mini requests during the kill: %v, want all 200", m)
	}
}
