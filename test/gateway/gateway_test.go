package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoed is what the echo upstream saw.
type echoed struct {
	Host          string      `json:"host"`
	Path          string      `json:"path"`
	Body          string      `json:"body"`
	ContentLength int64       `json:"contentLength"`
	Header        http.Header `json:"header"`
}

// startEcho serves a JSON echo of each request; /sse streams three events,
// each released by a value on gate (nil gate: no waiting).
func startEcho(t testing.TB, gate chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			for i := 0; i < 3; i++ {
				if gate != nil {
					<-gate
				}
				_, _ = io.WriteString(w, `data: {"model":"model-a","n":`+string(rune('0'+i))+"}\n\n")
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Host: r.Host, Path: r.URL.RequestURI(), Body: string(b), ContentLength: r.ContentLength, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// accessLog collects the gateway's access log entries.
type accessLog struct {
	mu      sync.Mutex
	entries []AccessLogEntry
}

// first waits for the first entry: the gateway logs after the response.
func (l *accessLog) first(t testing.TB) AccessLogEntry {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		if len(l.entries) > 0 {
			e := l.entries[0]
			l.mu.Unlock()
			return e
		}
		l.mu.Unlock()
	}
	t.Fatal("no access log entry")
	return AccessLogEntry{}
}

func startGateway(t testing.TB, cfg Config) (string, *accessLog) {
	t.Helper()
	log := &accessLog{}
	cfg.AccessLog = func(e AccessLogEntry) { log.mu.Lock(); log.entries = append(log.entries, e); log.mu.Unlock() }
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = g.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; _ = g.Close() })
	return "http://" + ln.Addr().String(), log
}

func deadAddress(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

func TestGatewayRoutesAndMutates(t *testing.T) {
	echo := startEcho(t, nil)
	tests := []struct {
		name        string
		viaMetadata bool
		dest        func() string
		wantServed  string
	}{
		{name: "destination header", dest: func() string { return hostOf(echo.URL) }, wantServed: hostOf(echo.URL)},
		{name: "envoy.lb metadata", viaMetadata: true, dest: func() string { return hostOf(echo.URL) }, wantServed: hostOf(echo.URL)},
		{name: "fallback past a dead endpoint", dest: func() string { return deadAddress(t) + "," + hostOf(echo.URL) }, wantServed: hostOf(echo.URL)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &testProcessor{dest: tc.dest(), viaMetadata: tc.viaMetadata}
			cfg := Config{ExtProcAddress: startProcessor(t, p)}
			if tc.viaMetadata {
				cfg.Destination = FromMetadata
			}
			url, log := startGateway(t, cfg)
			req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions?x=1", strings.NewReader(`{"model":"auto","messages":[]}`))
			req.Header.Set("X-Drop-Me", "1")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			defer func() { _ = resp.Body.Close() }()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			var got echoed
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("decode %q: %v", raw, err)
			}
			if got.Body != `{"model":"model-a","messages":[]}` {
				t.Errorf("upstream body = %q, want the processor's mutation", got.Body)
			}
			if got.ContentLength != -1 {
				t.Errorf("upstream content length = %d, want chunked (-1)", got.ContentLength)
			}
			if got.Path != "/v1/chat/completions?x=1" || got.Header.Get("X-Picked-By") != "test-processor" || got.Header.Get("X-Drop-Me") != "" {
				t.Errorf("upstream saw path %q headers %v", got.Path, got.Header)
			}
			if got.Header.Get("X-Request-Id") == "" || got.Header.Get("X-Forwarded-For") != "127.0.0.1" {
				t.Errorf("missing connection-manager headers: %v", got.Header)
			}
			if resp.Header.Get("X-Went-Into-Resp-Headers") != "true" {
				t.Errorf("response header mutation not applied: %v", resp.Header)
			}
			served := ""
			for _, r := range p.requests() {
				if rh := r.GetResponseHeaders(); rh != nil {
					served = r.GetMetadataContext().GetFilterMetadata()[LBMetadataNamespace].GetFields()[DestinationServedKey].GetStringValue()
				}
			}
			if served != tc.wantServed {
				t.Errorf("served metadata = %q, want %q", served, tc.wantServed)
			}
			if e := log.first(t); e.Upstream != tc.wantServed || e.Status != 200 {
				t.Errorf("access log %+v", e)
			}
		})
	}
}

func TestGatewayStreamsChunkByChunk(t *testing.T) {
	gate := make(chan struct{})
	echo := startEcho(t, gate)
	url, log := startGateway(t, Config{ExtProcAddress: startProcessor(t, &testProcessor{dest: hostOf(echo.URL)})})
	req, _ := http.NewRequest(http.MethodPost, url+"/sse", strings.NewReader(`{"model":"auto","stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		close(gate)
		t.Fatalf("request: %v (access log %+v)", err, log.first(t))
	}
	defer func() { _ = resp.Body.Close() }()
	gate <- struct{}{}
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Content-Length") != "" {
		t.Fatalf("headers %v", resp.Header)
	}
	rd := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		// Event i must arrive before the upstream is allowed to send i+1.
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		want := `data: {"model":"auto","n":` + string(rune('0'+i)) + "}\n"
		if line != want {
			t.Fatalf("event %d = %q, want %q (processor rewrite applied per chunk)", i, line, want)
		}
		_, _ = rd.ReadString('\n')
		if i < 2 {
			gate <- struct{}{}
		}
	}
	if rest, _ := io.ReadAll(rd); len(rest) != 0 {
		t.Fatalf("trailing data %q", rest)
	}
}

func TestGatewayErrors(t *testing.T) {
	echo := startEcho(t, nil)
	tests := []struct {
		name       string
		proc       *testProcessor
		noProc     bool
		allow      bool
		clientDest string
		timeout    time.Duration
		wantStatus int
		wantBody   string
		wantFlags  string
	}{
		{name: "immediate response", proc: &testProcessor{fault: "immediate"}, wantStatus: 400, wantBody: "inference error: BadRequest - bad body", wantFlags: "IR"},
		{name: "no destination", proc: &testProcessor{}, wantStatus: 503, wantBody: bodyNoHealthyUpstream, wantFlags: "NR"},
		{name: "upstream down", proc: &testProcessor{dest: deadAddress(t)}, wantStatus: 503, wantBody: bodyConnectFailure, wantFlags: "UF"},
		{name: "processor unreachable, deny", noProc: true, wantStatus: 500, wantFlags: "UAEX"},
		{name: "processor unreachable, allow", noProc: true, allow: true, clientDest: hostOf(echo.URL), wantStatus: 200, wantBody: `"body":"{\"model\":\"auto\"}"`, wantFlags: "UAEX"},
		{name: "processor error, deny", proc: &testProcessor{fault: "grpc-error"}, wantStatus: 500, wantFlags: "UAEX"},
		{name: "processor closes, allow, no destination", proc: &testProcessor{fault: "close"}, allow: true, wantStatus: 503, wantBody: bodyNoHealthyUpstream, wantFlags: "UAEX"},
		{name: "spurious message", proc: &testProcessor{fault: "spurious"}, wantStatus: 500, wantFlags: "UAEX"},
		{name: "message timeout", proc: &testProcessor{fault: "hang"}, timeout: 200 * time.Millisecond, wantStatus: 504, wantBody: "ext_proc_error_message_timeout", wantFlags: "UAEX"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := deadAddress(t)
			if !tc.noProc {
				addr = startProcessor(t, tc.proc)
			}
			url, log := startGateway(t, Config{ExtProcAddress: addr, FailureModeAllow: tc.allow, MessageTimeout: tc.timeout})
			req, _ := http.NewRequest(http.MethodPost, url+"/v1/completions", strings.NewReader(`{"model":"auto"}`))
			if tc.clientDest != "" {
				req.Header.Set(DestinationHeader, tc.clientDest)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if got := log.first(t).Flags; got != tc.wantFlags {
				t.Errorf("flags = %q, want %q (err %v)", got, tc.wantFlags, log.first(t).Err)
			}
			if tc.name == "immediate response" && resp.Header.Get("X-Why") != "test" {
				t.Errorf("immediate response headers not applied: %v", resp.Header)
			}
			if tc.name == "upstream down" {
				sawStatus := false
				for _, r := range tc.proc.requests() {
					for _, h := range r.GetResponseHeaders().GetHeaders().GetHeaders() {
						sawStatus = sawStatus || (h.GetKey() == ":status" && string(h.GetRawValue()) == "503")
					}
				}
				if !sawStatus {
					t.Errorf("local reply did not pass through the processor's response path")
				}
			}
		})
	}
}

func TestGatewayResetsClientWhenProcessorBreaksMidBody(t *testing.T) {
	echo := startEcho(t, nil)
	url, log := startGateway(t, Config{ExtProcAddress: startProcessor(t, &testProcessor{dest: hostOf(echo.URL), fault: "break-response-body"})})
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"model":"auto"}`))
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	if err == nil {
		t.Fatalf("want a reset connection, got a complete response")
	}
	if log.first(t).Flags != "UAEX" {
		t.Errorf("access log %+v", log.first(t))
	}
}

func TestGatewayGETHasNoBody(t *testing.T) {
	echo := startEcho(t, nil)
	p := &testProcessor{dest: hostOf(echo.URL)}
	url, _ := startGateway(t, Config{ExtProcAddress: startProcessor(t, p)})
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	first := p.requests()[0].GetRequestHeaders()
	if first == nil || !first.EndOfStream {
		t.Fatalf("want request headers with end_of_stream for a bodiless GET, got %v", p.requests()[0])
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"missing address", Config{}, false},
		{"bad address", Config{ExtProcAddress: "nohostport"}, false},
		{"bad destination", Config{ExtProcAddress: "127.0.0.1:1", Destination: "cookie"}, false},
		{"negative timeout", Config{ExtProcAddress: "127.0.0.1:1", MessageTimeout: -1}, false},
		{"defaults", Config{ExtProcAddress: "127.0.0.1:1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New err = %v, want ok=%v", err, tc.ok)
			}
			if g != nil {
				_ = g.Close()
			}
		})
	}
}
