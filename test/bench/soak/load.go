package soak

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is one finished request.
type Outcome struct {
	Kind    Kind
	Status  int
	Latency time.Duration
	// Err is empty when the answer was what the request's kind expects:
	// the status, the model of an explicit request, a stream that ends
	// with [DONE].
	Err string
}

// Client sends the mix to the gateway and checks every answer.
type Client struct {
	URL  string
	HTTP *http.Client
}

// NewClient returns a client for the gateway at url.
func NewClient(url string) *Client {
	return &Client{URL: url, HTTP: &http.Client{
		Timeout:   60 * time.Second, // a hung request is an error, not a stall
		Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute},
	}}
}

// Do sends r and checks the answer.
func (c *Client) Do(ctx context.Context, r Request) (o Outcome) {
	o.Kind = r.Kind
	start := time.Now()
	defer func() { o.Latency = time.Since(start) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		o.Err = err.Error()
		return o
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		o.Err = "request: " + err.Error()
		return o
	}
	defer func() { _ = resp.Body.Close() }()
	o.Status = resp.StatusCode
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		o.Err = "reading response: " + err.Error()
	case resp.StatusCode != r.WantStatus:
		o.Err = fmt.Sprintf("status %d, want %d: %.200s", resp.StatusCode, r.WantStatus, body)
	case r.WantStatus != http.StatusOK:
	case r.Stream:
		o.Err = checkStream(body, r.WantModel)
	default:
		var v struct {
			Model string `json:"model"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			o.Err = fmt.Sprintf("response is not JSON: %.200s", body)
		} else if r.WantModel != "" && v.Model != r.WantModel {
			o.Err = fmt.Sprintf("model %q, want %q", v.Model, r.WantModel)
		}
	}
	return o
}

// checkStream checks a server-sent-event body: JSON chunks of the right
// model, ending with [DONE].
func checkStream(body []byte, wantModel string) string {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var last string
	n := 0
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		last = d
		if d == "[DONE]" {
			continue
		}
		n++
		var v struct {
			Model string `json:"model"`
		}
		if err := json.Unmarshal([]byte(d), &v); err != nil {
			return fmt.Sprintf("stream event %.100q is not JSON", d)
		}
		if wantModel != "" && v.Model != wantModel {
			return fmt.Sprintf("stream model %q, want %q", v.Model, wantModel)
		}
	}
	if last != "[DONE]" || n == 0 {
		return fmt.Sprintf("stream of %d events does not end with [DONE]", n)
	}
	return ""
}

// Window summarises the outcomes of a span of time.
type Window struct {
	Start, End time.Duration // since the run began
	N          int
	Errors     int
	Skipped    int // open loop: requests not sent because maxInFlight were outstanding
	P50, P99   time.Duration
	ByStatus   map[int]int
	ErrSample  []string
}

// Throughput is requests per second finished in the window.
func (w Window) Throughput() float64 {
	if d := (w.End - w.Start).Seconds(); d > 0 {
		return float64(w.N) / d
	}
	return 0
}

func summarise(outs []Outcome, start, end time.Duration, skipped int) Window {
	w := Window{Start: start, End: end, N: len(outs), Skipped: skipped, ByStatus: map[int]int{}}
	lat := make([]time.Duration, 0, len(outs))
	for _, o := range outs {
		w.ByStatus[o.Status]++
		lat = append(lat, o.Latency)
		if o.Err != "" {
			w.Errors++
			if len(w.ErrSample) < 5 {
				w.ErrSample = append(w.ErrSample, string(o.Kind)+": "+o.Err)
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		w.P50 = lat[len(lat)/2]
		w.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return w
}

// ClosedLoop runs conc workers back to back for d, each sending the next
// request of the mix as soon as its previous one finished.
func (c *Client) ClosedLoop(ctx context.Context, mix *Mix, conc int, d time.Duration, t0 time.Time) Window {
	var mu sync.Mutex
	var outs []Outcome
	start := time.Since(t0)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				r := mix.Next()
				mu.Unlock()
				o := c.Do(context.WithoutCancel(ctx), r)
				mu.Lock()
				outs = append(outs, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return summarise(outs, start, time.Since(t0), 0)
}

// OpenLoop offers rate requests per second for d whatever the answers do,
// with at most maxInFlight outstanding, and calls each after every window
// of length every with that window's summary.
func (c *Client) OpenLoop(ctx context.Context, mix *Mix, rate float64, maxInFlight int, d, every time.Duration, t0 time.Time, each func(Window)) {
	var mu sync.Mutex
	var outs []Outcome
	var skipped atomic.Int64
	sem := make(chan struct{}, maxInFlight)
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	begin := time.Now()
	winStart := time.Since(t0)
	nextWin := begin.Add(every)
	flush := func() {
		mu.Lock()
		batch := outs
		outs = nil
		mu.Unlock()
		end := time.Since(t0)
		each(summarise(batch, winStart, end, int(skipped.Swap(0))))
		winStart = end
	}
	for i := 0; ; i++ {
		due := begin.Add(time.Duration(i) * interval)
		if due.Sub(begin) >= d || ctx.Err() != nil {
			break
		}
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		if time.Now().After(nextWin) {
			flush()
			nextWin = nextWin.Add(every)
		}
		select {
		case sem <- struct{}{}:
		default:
			skipped.Add(1)
			continue
		}
		r := mix.Next()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o := c.Do(context.WithoutCancel(ctx), r)
			mu.Lock()
			outs = append(outs, o)
			mu.Unlock()
		}()
	}
	wg.Wait()
	flush()
}
