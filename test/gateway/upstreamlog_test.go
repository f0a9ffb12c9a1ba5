package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestGatewayLogsUpstreamRequests: with LogUpstreamRequests the access log
// carries what the model server received: the processor's body and header
// mutations, or the client's request when the processor is bypassed; without
// it, nothing.
func TestGatewayLogsUpstreamRequests(t *testing.T) {
	echo := startEcho(t, nil)
	tests := []struct {
		name            string
		record, bypass  bool
		wantBody        string
		wantPickedBy    string
		wantNoUpstreamB bool
	}{
		{name: "processed", record: true, wantBody: `{"model":"model-a","messages":[]}`, wantPickedBy: "test-processor"},
		{name: "processor bypassed", record: true, bypass: true, wantBody: `{"model":"auto","messages":[]}`},
		{name: "off", wantNoUpstreamB: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{LogUpstreamRequests: tc.record, ExtProcAddress: deadAddress(t), FailureModeAllow: tc.bypass}
			if !tc.bypass {
				cfg.ExtProcAddress = startProcessor(t, &testProcessor{dest: hostOf(echo.URL)})
			}
			url, log := startGateway(t, cfg)
			req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(`{"model":"auto","messages":[]}`))
			if tc.bypass {
				req.Header.Set(DestinationHeader, hostOf(echo.URL))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			raw, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			e := log.first(t)
			if tc.wantNoUpstreamB {
				if e.UpstreamBody != nil || e.UpstreamHeader != nil {
					t.Fatalf("upstream request logged while LogUpstreamRequests is off: %q %v", e.UpstreamBody, e.UpstreamHeader)
				}
				return
			}
			if string(e.UpstreamBody) != tc.wantBody {
				t.Errorf("logged upstream body %q, want %q", e.UpstreamBody, tc.wantBody)
			}
			// The echo upstream shows what it received: the log must say the same.
			if !strings.Contains(string(raw), `"body":`+jsonQuote(tc.wantBody)) {
				t.Errorf("upstream echoed %s, not the logged body", raw)
			}
			if got := e.UpstreamHeader.Get("X-Picked-By"); got != tc.wantPickedBy {
				t.Errorf("logged upstream header X-Picked-By %q, want %q", got, tc.wantPickedBy)
			}
		})
	}
}

func jsonQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
