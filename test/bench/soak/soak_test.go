package soak

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestDrift(t *testing.T) {
	flat := func(at time.Duration) Sample { return Sample{At: at, RSSBytes: 100 << 20, Goroutines: 100} }
	growing := func(at time.Duration) Sample {
		return Sample{At: at, RSSBytes: int64(100<<20) + int64(at/time.Minute)<<20, Goroutines: 100 + at.Minutes()}
	}
	tests := []struct {
		name     string
		sample   func(time.Duration) Sample
		until    time.Duration
		wantRSS  float64
		wantGor  float64
		wantFail bool
	}{
		{"flat", flat, 30 * time.Minute, 0, 0, false},
		// 1 MiB and 1 goroutine a minute: means of minutes 5-10 and 25-30 differ by 20 %.
		{"growing", growing, 30 * time.Minute, 0.19, 0.19, false},
		{"too short", flat, 12 * time.Minute, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ss []Sample
			for at := time.Duration(0); at <= tc.until; at += 10 * time.Second {
				ss = append(ss, tc.sample(at))
			}
			rss, gor, err := Drift(ss, 5*time.Minute, 5*time.Minute)
			if (err != nil) != tc.wantFail {
				t.Fatalf("err %v, want failure %v", err, tc.wantFail)
			}
			if rss < tc.wantRSS-0.02 || rss > tc.wantRSS+0.02 || gor < tc.wantGor-0.02 || gor > tc.wantGor+0.02 {
				t.Errorf("drift rss %.3f goroutines %.3f, want about %.2f and %.2f", rss, gor, tc.wantRSS, tc.wantGor)
			}
		})
	}
}

func TestCheckStream(t *testing.T) {
	tests := []struct {
		name, body, model string
		ok                bool
	}{
		{"complete", "data: {\"model\":\"m\"}\n\ndata: [DONE]\n\n", "m", true},
		{"auto, any model", "data: {\"model\":\"x\"}\n\ndata: [DONE]\n\n", "", true},
		{"cut", "data: {\"model\":\"m\"}\n\n", "m", false},
		{"wrong model", "data: {\"model\":\"x\"}\n\ndata: [DONE]\n\n", "m", false},
		{"not JSON", "data: {oops\n\ndata: [DONE]\n\n", "m", false},
		{"no events", "data: [DONE]\n\n", "m", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkStream([]byte(tc.body), tc.model); (got == "") != tc.ok {
				t.Errorf("checkStream = %q, want ok %v", got, tc.ok)
			}
		})
	}
}

func TestMixShares(t *testing.T) {
	m := NewMix([]string{"a", "b"}, []string{"m1", "m2"}, 0.01, 7)
	kinds := map[Kind]int{}
	for i := 0; i < 100000; i++ {
		r := m.Next()
		kinds[r.Kind]++
		if (r.Kind == Malformed) != (r.WantStatus == 400) {
			t.Fatalf("%s wants %d", r.Kind, r.WantStatus)
		}
	}
	if n := kinds[Malformed]; n < 800 || n > 1200 {
		t.Errorf("%d malformed of 100000, want about 1 %%", n)
	}
	for _, k := range []Kind{AutoChat, AutoComplete, ExplicitChat, ExplicitComp} {
		if n := kinds[k]; n < 23000 || n > 26500 {
			t.Errorf("%s: %d of 100000, want about a quarter", k, n)
		}
	}
}

// TestClientChecksAnswers: the client flags a wrong status or model and
// passes what the request's kind expects.
func TestClientChecksAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("answer") {
		case "wrong-model":
			fmt.Fprint(w, `{"model":"other"}`)
		case "400":
			http.Error(w, "bad", http.StatusBadRequest)
		default:
			fmt.Fprint(w, `{"model":"m"}`)
		}
	}))
	defer srv.Close()
	c := NewClient(srv.URL)
	tests := []struct {
		name, query string
		want        int
		ok          bool
	}{
		{"right", "", 200, true},
		{"wrong model", "?answer=wrong-model", 200, false},
		{"unexpected 400", "?answer=400", 200, false},
		{"expected 400", "?answer=400", 400, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := c.Do(context.Background(), Request{Path: "/v1/completions" + tc.query, Body: []byte(`{}`), WantStatus: tc.want, WantModel: "m"})
			if (o.Err == "") != tc.ok || o.Latency <= 0 {
				t.Errorf("outcome %+v, want ok %v and a latency", o, tc.ok)
			}
		})
	}
}
