package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// startBodyLimited serves one canned response the way llm-d-inference-sim
// (fasthttp) answers a body above its MaxRequestBodySize: it reads the
// request head and at most limit bytes of the body, writes response (fasthttp
// writes whatever the error handler left: the simulator's is an empty 200)
// and closes the connection without reading the rest.
func startBodyLimited(t *testing.T, limit int, response string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer func() { _ = c.Close() }()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				_, _ = io.CopyN(io.Discard, br, int64(limit))
				_, _ = io.WriteString(c, response)
			}(c)
		}
	}()
	return ln.Addr().String()
}

// TestGatewayUpstreamResetBeforeRequestSent: an upstream that closes the
// connection without reading the request body is an upstream reset, which
// Envoy answers with a 503 local reply; an empty 200 the upstream wrote on
// its way out must not reach the client as a success. A real early error
// response (a 413 with a body) is forwarded when it is read before the
// write fails, else it becomes the same 503: Envoy races the same way
// (envoyproxy/envoy#2929, #38697), so either answer passes, never a 2xx.
func TestGatewayUpstreamResetBeforeRequestSent(t *testing.T) {
	big := `{"model":"auto","prompt":"` + strings.Repeat("x", 4<<20) + `"}`
	tests := []struct {
		name       string
		response   string
		wantStatus int
		wantBody   string
		wantFlags  string
		orReset    bool // a 503 connection-termination reply also passes
	}{
		{"empty 200 then close", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			http.StatusServiceUnavailable, bodyConnectionTermination, "UC", false},
		{"early 413 with a body", "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 14\r\nConnection: close\r\n\r\nbody too large",
			http.StatusRequestEntityTooLarge, "body too large", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dest := startBodyLimited(t, 64<<10, tc.response)
			url, log := startGateway(t, Config{ExtProcAddress: startProcessor(t, &testProcessor{dest: dest})})
			resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(big))
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if tc.orReset && resp.StatusCode == http.StatusServiceUnavailable && string(body) == bodyConnectionTermination {
				return
			}
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if got := log.first(t).Flags; got != tc.wantFlags {
				t.Errorf("flags = %q, want %q (err %v)", got, tc.wantFlags, log.first(t).Err)
			}
		})
	}
}

// TestGatewayBodyLimit: MaxRequestBodyBytes answers 413 like Envoy's buffer
// filter, for a declared content-length before the processor sees anything
// and for a chunked body as soon as it passes the limit.
func TestGatewayBodyLimit(t *testing.T) {
	echo := startEcho(t, nil)
	const limit = 256 << 10
	over := `{"model":"auto","prompt":"` + strings.Repeat("x", limit) + `"}`
	tests := []struct {
		name       string
		body       io.Reader
		wantStatus int
		wantFlags  string
	}{
		{"content-length over the limit", strings.NewReader(over), http.StatusRequestEntityTooLarge, "RL"},
		{"chunked over the limit", io.MultiReader(strings.NewReader(over)), http.StatusRequestEntityTooLarge, "RL"},
		{"under the limit", strings.NewReader(`{"model":"auto"}`), http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proc := &testProcessor{dest: hostOf(echo.URL)}
			url, log := startGateway(t, Config{ExtProcAddress: startProcessor(t, proc), MaxRequestBodyBytes: limit})
			resp, err := http.Post(url+"/v1/completions", "application/json", tc.body)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("got %d %q, want %d", resp.StatusCode, body, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusRequestEntityTooLarge && string(body) != bodyPayloadTooLarge {
				t.Errorf("body %q, want %q", body, bodyPayloadTooLarge)
			}
			if got := log.first(t).Flags; got != tc.wantFlags {
				t.Errorf("flags = %q, want %q (err %v)", got, tc.wantFlags, log.first(t).Err)
			}
			if tc.name == "content-length over the limit" && len(proc.requests()) != 0 {
				t.Errorf("the processor saw %d messages, want none", len(proc.requests()))
			}
		})
	}
}
