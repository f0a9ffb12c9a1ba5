package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkGatewayRoundTrip measures one request through the gateway: the
// ext_proc exchange (headers, full-duplex body, response headers and body)
// with an in-process processor and a loopback upstream.
func BenchmarkGatewayRoundTrip(b *testing.B) {
	echo := startEcho(b, nil)
	p := &testProcessor{dest: hostOf(echo.URL)}
	url, _ := startGateway(b, Config{ExtProcAddress: startProcessor(b, p)})
	body := `{"model":"auto","prompt":"` + strings.Repeat("word ", 200) + `"}`
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := client.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	p.mu.Lock()
	p.seen = nil // the processor keeps every message; drop them between runs
	p.mu.Unlock()
}
