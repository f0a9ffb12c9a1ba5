//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests run in this order; the last ones delete pods.

// TestGuideRequests sends the README's four requests.
func TestGuideRequests(t *testing.T) {
	need(t)
	tests := []struct {
		name, model, prompt, want string
	}{
		{"explicit llama3-8b", "llama3-8b", "Hello, who are you?", "llama3-8b"},
		{"auto, computer science", "auto", "Linux is said to be an open source kernel because", "llama3-8b"},
		{"explicit phi4-mini", "phi4-mini", "Hello, who are you?", "phi4-mini"},
		{"auto, math", "auto", "2+2 is", "phi4-mini"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := complete(t, req(tc.model, tc.prompt))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if !strings.HasPrefix(r.pod, tc.want+"-") {
				t.Errorf("served by pod %q, want a %s pod", r.pod, tc.want)
			}
			if r.model != tc.want {
				t.Errorf("response model %q, want %q", r.model, tc.want)
			}
		})
	}
}

// TestStreaming checks that server-sent events arrive intact, one complete
// JSON event at a time, ending with [DONE], for explicit and auto models.
func TestStreaming(t *testing.T) {
	need(t)
	tests := []struct{ model, prompt, want string }{
		{"llama3-8b", "stream me these words please", "llama3-8b"},
		{"auto", "2+2 is", "phi4-mini"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"model": tc.model, "prompt": tc.prompt, "max_tokens": 50, "stream": true})
			resp, err := httpc.Post(sb.GatewayURL+"/v1/completions", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			events := sseEvents(t, resp.Body)
			if len(events) < 3 || events[len(events)-1] != "[DONE]" {
				t.Fatalf("events %q: want several chunks ending with [DONE]", events)
			}
			var text strings.Builder
			for _, e := range events[:len(events)-1] {
				var chunk struct {
					Model   string `json:"model"`
					Choices []struct {
						Text string `json:"text"`
					} `json:"choices"`
				}
				if err := json.Unmarshal([]byte(e), &chunk); err != nil {
					t.Fatalf("event %q is not one JSON object: %v", e, err)
				}
				if chunk.Model != tc.want {
					t.Errorf("chunk model %q, want %q", chunk.Model, tc.want)
				}
				for _, c := range chunk.Choices {
					text.WriteString(c.Text)
				}
			}
			// The simulator runs in echo mode: the stream must spell the prompt.
			if text.String() != tc.prompt {
				t.Errorf("streamed text %q, want %q", text.String(), tc.prompt)
			}
		})
	}
}

// TestChatCompletions: the chat API is classified and routed the same way.
func TestChatCompletions(t *testing.T) {
	need(t)
	tests := []struct{ model, content, want string }{
		{"auto", "2+2 is", "phi4-mini"},
		{"auto", "Linux is said to be an open source kernel because", "llama3-8b"},
		{"llama3-8b", "2+2 is", "llama3-8b"},
	}
	for _, tc := range tests {
		t.Run(tc.model+"/"+tc.want, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"model": tc.model, "max_tokens": 10,
				"messages": []map[string]string{{"role": "user", "content": tc.content}}})
			resp, err := httpc.Post(sb.GatewayURL+"/v1/chat/completions", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			defer func() { _ = resp.Body.Close() }()
			var out struct {
				Model string `json:"model"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, decode error %v", resp.StatusCode, err)
			}
			if out.Model != tc.want || !strings.HasPrefix(resp.Header.Get("x-inference-pod"), tc.want+"-") {
				t.Fatalf("model %q pod %q, want %s", out.Model, resp.Header.Get("x-inference-pod"), tc.want)
			}
		})
	}
}

// TestConcurrentRequests: 96 requests, 16 at a time, mixed models and
// streaming, all answered by the right model.
func TestConcurrentRequests(t *testing.T) {
	need(t)
	type job struct {
		body, want string
	}
	jobs := make(chan job)
	errs := make(chan error, 96)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				resp, err := httpc.Post(sb.GatewayURL+"/v1/completions", "application/json", strings.NewReader(j.body))
				if err != nil {
					errs <- err
					continue
				}
				b, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				switch {
				case err != nil:
					errs <- fmt.Errorf("reading: %w", err)
				case resp.StatusCode != http.StatusOK:
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, b)
				case !strings.HasPrefix(resp.Header.Get("x-inference-pod"), j.want+"-") || !strings.Contains(string(b), `"model":"`+j.want+`"`):
					errs <- fmt.Errorf("want %s, got pod %q body %.120s", j.want, resp.Header.Get("x-inference-pod"), b)
				}
			}
		}()
	}
	cases := []job{
		{req("auto", "2+2 is"), "phi4-mini"},
		{req("auto", "Linux is said to be an open source kernel because"), "llama3-8b"},
		{`{"model":"phi4-mini","prompt":"streamed","max_tokens":20,"stream":true}`, "phi4-mini"},
		{`{"model":"llama3-8b","prompt":"streamed","max_tokens":20,"stream":true}`, "llama3-8b"},
	}
	for i := 0; i < 96; i++ {
		jobs <- cases[i%len(cases)]
	}
	close(jobs)
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n < 5 {
			t.Error(err)
		}
		n++
	}
	if n > 0 {
		t.Fatalf("%d of 96 requests failed", n)
	}
}

// TestMalformedRequests get 400 from the EPP through the gateway.
func TestMalformedRequests(t *testing.T) {
	need(t)
	tests := []struct{ name, body, wantMsg string }{
		{"truncated JSON", `{"model":"auto","prompt":`, "BadRequest"},
		{"not JSON", `not json`, "BadRequest"},
		{"no model", `{"prompt":"hi"}`, "model not found"},
		{"completions without prompt", `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, "prompt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := complete(t, tc.body)
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.wantMsg) {
				t.Fatalf("got %d %q, want 400 mentioning %q", r.status, r.body, tc.wantMsg)
			}
		})
	}
}

// TestOversizedPrompt: a chat prompt larger than the model servers accept
// (12 MB, the simulator takes 4 MiB) gets the gateway's 413, never the
// simulator's empty 200; one under the body limit but over the model's
// context gets the model server's own 400 naming the context length.
func TestOversizedPrompt(t *testing.T) {
	need(t)
	post := func(n int) (int, string) {
		body := `{"model":"llama3-8b","messages":[{"role":"user","content":"` + strings.Repeat("a ", n/2) + `"}]}`
		resp, err := httpc.Post(sb.GatewayURL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if status, body := post(12 << 20); status != http.StatusRequestEntityTooLarge || body != "Payload Too Large" {
		t.Fatalf("12 MB prompt: got %d %q, want 413 \"Payload Too Large\"", status, body)
	}
	if status, body := post(1 << 20); status != http.StatusBadRequest || !strings.Contains(body, "maximum context length") {
		t.Fatalf("1 MB prompt: got %d %q, want the model server's 400 about its context length", status, body)
	}
}

// TestLoadSpreads: with equal reported load both replicas serve traffic.
func TestLoadSpreads(t *testing.T) {
	need(t)
	for _, model := range []string{"llama3-8b", "phi4-mini"} {
		counts := podCounts(t, model, 24)
		for _, p := range sb.PodsOf(model) {
			if counts[p.Name] == 0 {
				t.Errorf("%s: pod %s got no request of 24 (%v)", model, p.Name, counts)
			}
		}
	}
}

// TestPrefersLessLoadedReplica steers the simulators' reported queue and KV
// cache and expects the picker to favour the idle replica.
func TestPrefersLessLoadedReplica(t *testing.T) {
	need(t)
	pods := sb.PodsOf("llama3-8b")
	busy, idle := pods[0], pods[1]
	setLoad(t, busy, 40, 0.9)
	setLoad(t, idle, 0, 0.05)
	defer setLoad(t, busy, 0, 0)
	defer setLoad(t, idle, 0, 0)
	time.Sleep(time.Second) // the EPP scrapes every 50 ms
	counts := podCounts(t, "llama3-8b", 20)
	if counts[idle.Name] < 18 {
		t.Fatalf("idle %s got %d of 20 requests, busy %s got %d", idle.Name, counts[idle.Name], busy.Name, counts[busy.Name])
	}
	// And the other way round, so the choice follows the load, not a name.
	setLoad(t, idle, 40, 0.9)
	setLoad(t, busy, 0, 0.05)
	time.Sleep(time.Second)
	counts = podCounts(t, "llama3-8b", 20)
	if counts[busy.Name] < 18 {
		t.Fatalf("after swapping the load, %s got %d of 20 requests", busy.Name, counts[busy.Name])
	}
}

// TestUnreadyPodGetsNoTraffic freezes one replica: its readiness fails, the
// Pod turns unready in the API server and the EPP stops picking it.
func TestUnreadyPodGetsNoTraffic(t *testing.T) {
	need(t)
	p := sb.PodsOf("llama3-8b")[0]
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = p.Resume()
		}
	}()
	eventually(t, 15*time.Second, "pod turns unready", func() error {
		if p.Ready() {
			return fmt.Errorf("%s still ready", p.Name)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // the EPP's pod watch
	counts := podCounts(t, "llama3-8b", 10)
	if counts[p.Name] != 0 {
		t.Fatalf("unready %s still got %d requests", p.Name, counts[p.Name])
	}
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	eventually(t, 15*time.Second, "pod serves again", func() error {
		if c := podCounts(t, "llama3-8b", 6); c[p.Name] == 0 {
			return fmt.Errorf("%s got no traffic after turning ready: %v", p.Name, c)
		}
		return nil
	})
}

// TestEPPRestartKeepsPoolState stops the EPP process (requests fail closed)
// and starts it again: it rebuilds the pool from the API server and every
// pod of both models serves again.
func TestEPPRestartKeepsPoolState(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// While the EPP is down the gateway fails closed (failure_mode_allow off).
	if err := sb.EPP.Stop(); err != nil {
		t.Fatal(err)
	}
	if r := complete(t, req("llama3-8b", "anyone there?")); r.status != http.StatusInternalServerError {
		t.Errorf("with the EPP down: %d %q, want 500", r.status, r.body)
	}
	if err := sb.RestartEPP(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	for _, model := range []string{"llama3-8b", "phi4-mini"} {
		eventually(t, 30*time.Second, model+" after restart", func() error {
			counts := map[string]int{}
			for i := 0; i < 12; i++ {
				r := complete(t, req(model, fmt.Sprintf("after restart %d %d", i, time.Now().UnixNano())))
				if r.status != http.StatusOK {
					return fmt.Errorf("status %d: %s", r.status, r.body)
				}
				counts[r.pod]++
			}
			if len(counts) != len(sb.PodsOf(model)) {
				return fmt.Errorf("pods serving %s: %v", model, counts)
			}
			return nil
		})
	}
}

// TestDeletedPodsGetNoTraffic deletes one phi4-mini replica, then the
// other: first the survivor takes everything, then clients get the
// documented 429 naming the model, for explicit and auto requests alike.
func TestDeletedPodsGetNoTraffic(t *testing.T) {
	need(t)
	ctx := context.Background()
	pods := sb.PodsOf("phi4-mini")
	if len(pods) != 2 {
		t.Fatalf("want 2 phi4-mini pods, have %d", len(pods))
	}
	if err := sb.DeletePod(ctx, pods[0].Name); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "traffic leaves the deleted pod", func() error {
		counts := podCounts(t, "phi4-mini", 8)
		if counts[pods[1].Name] != 8 {
			return fmt.Errorf("counts %v", counts)
		}
		return nil
	})
	if err := sb.DeletePod(ctx, pods[1].Name); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{req("phi4-mini", "hi"), req("auto", "2+2 is")} {
		eventually(t, 15*time.Second, "no phi4-mini pod left", func() error {
			r := complete(t, body)
			if r.status != http.StatusTooManyRequests || !strings.Contains(string(r.body), `no endpoint serves model "phi4-mini"`) {
				return fmt.Errorf("got %d %q", r.status, r.body)
			}
			return nil
		})
	}
	// The other model is unaffected.
	if r := complete(t, req("llama3-8b", "still there?")); r.status != http.StatusOK {
		t.Fatalf("llama3-8b: %d %s", r.status, r.body)
	}
}
