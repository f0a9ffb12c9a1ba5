package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestStream(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantOK    bool
		wantModel string
		wantErr   string
	}{
		{"complete stream", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = fmt.Fprint(w, "data: {\"model\":\"phi4-mini\",\"choices\":[]}\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
			_, _ = fmt.Fprint(w, "data: {\"model\":\"phi4-mini\"}\n\ndata: [DONE]\n\n")
		}, true, "phi4-mini", ""},
		{"error status", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "queue full", http.StatusTooManyRequests)
		}, false, "", "status 429: queue full"},
		{"no done", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = fmt.Fprint(w, "data: {\"model\":\"m\"}\n\n")
		}, false, "m", "without [DONE]"},
		{"bad chunk", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = fmt.Fprint(w, "data: {nope\n\n")
		}, false, "", "not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			r := NewClient().Stream(context.Background(), srv.URL, Request{Model: "auto", Prompt: "p"}, 4)
			if r.OK() != tc.wantOK || r.Model != tc.wantModel || !strings.Contains(r.Err, tc.wantErr) {
				t.Errorf("got %+v", r)
			}
			if tc.wantOK && (r.TTFT <= 0 || r.TTFT >= r.Total || r.Total < 20*time.Millisecond) {
				t.Errorf("TTFT %v should be before the end %v", r.TTFT, r.Total)
			}
		})
	}
}
