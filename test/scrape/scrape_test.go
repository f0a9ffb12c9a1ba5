package scrape

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

const exposition = `# HELP go_goroutines x
go_goroutines 42
x_total{reason="a"} 1
x_total{reason="b"} 2
x_total_other 9
h_seconds_bucket{outcome="ok",le="0.01"} 3
h_seconds_sum{outcome="ok"} 0.25
h_seconds_count{outcome="ok"} 10
h_seconds_sum{outcome="timeout"} 2
h_seconds_count{outcome="timeout"} 1
bad_sample{a="b"} x
`

func serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, exposition)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMetric(t *testing.T) {
	url := serve(t)
	for _, tc := range []struct {
		name    string
		labels  []string
		want    float64
		found   bool
		wantErr bool
	}{
		{name: "go_goroutines", want: 42, found: true},
		{name: "x_total", want: 3, found: true},
		{name: "x_total", labels: []string{`reason="b"`}, want: 2, found: true},
		{name: "missing"},
		{name: "bad_sample", wantErr: true},
	} {
		v, found, err := Metric(context.Background(), url, tc.name, tc.labels...)
		if (err != nil) != tc.wantErr || v != tc.want || found != tc.found {
			t.Errorf("%s %v = %v %v %v, want %v %v (error %v)", tc.name, tc.labels, v, found, err, tc.want, tc.found, tc.wantErr)
		}
	}
}

func TestHistogramSumCount(t *testing.T) {
	url := serve(t)
	sum, count, err := HistogramSumCount(context.Background(), url, "h_seconds", `outcome="ok"`)
	if err != nil || sum != 0.25 || count != 10 {
		t.Errorf("got %v %v %v, want 0.25 10", sum, count, err)
	}
	if _, _, err := HistogramSumCount(context.Background(), url+"/missing", "h_seconds", ""); err == nil {
		t.Error("no error for a 404")
	}
	if _, _, err := HistogramSumCount(context.Background(), url+"/x\x00", "h_seconds", ""); err == nil {
		t.Error("no error for a bad URL")
	}
}
