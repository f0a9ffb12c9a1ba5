package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semantic-epp/semantic-epp/test/gateway"
)

// Recorder collects the gateway's access-log entries of one target.
type Recorder struct {
	mu      sync.Mutex
	entries []gateway.AccessLogEntry
	count   atomic.Int64
}

// Log is the gateway's AccessLog callback.
func (r *Recorder) Log(e gateway.AccessLogEntry) {
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.mu.Unlock()
	r.count.Add(1)
}

// Take waits until n entries were logged since the last Take (the gateway
// logs after the client may already have its response) and returns them.
func (r *Recorder) Take(n int, timeout time.Duration) ([]gateway.AccessLogEntry, error) {
	deadline := time.Now().Add(timeout)
	for r.count.Load() < int64(n) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("gateway logged %d of %d requests after %s", r.count.Load(), n, timeout)
		}
		time.Sleep(time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.entries
	r.entries = nil
	r.count.Add(-int64(len(out)))
	return out, nil
}

// Target is one configuration under test: a gateway URL, its recorder and
// the processes whose CPU and memory it costs.
type Target struct {
	Name string
	URL  string
	Rec  *Recorder
	PIDs []int
}

// Request is one completion request's model and prompt.
type Request struct{ Model, Prompt string }

// Result is one finished request seen by the client and the gateway.
type Result struct {
	Status   int
	ExtProc  time.Duration // gateway: time waiting on processors
	FirstHop time.Duration
	Total    time.Duration // client: whole request
	Err      string
}

// Client sends completion requests.
type Client struct{ HTTP *http.Client }

// NewClient returns a client with enough idle connections for the loads used.
func NewClient() *Client {
	return &Client{HTTP: &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute},
	}}
}

// Do sends one request and reads the whole response.
func (c *Client) Do(ctx context.Context, url string, r Request) (int, error) {
	body, err := json.Marshal(map[string]any{"model": r.Model, "prompt": r.Prompt, "max_tokens": 1})
	if err != nil {
		return 0, fmt.Errorf("encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/completions", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, fmt.Errorf("reading response: %w", err)
	}
	return resp.StatusCode, nil
}

// Batch is the outcome of one batch of requests against one target.
type Batch struct {
	Results    []Result
	CPUSeconds float64 // of the target's processes during the batch
	Wall       time.Duration
}

// RunSequential sends reqs one after the other (closed loop, concurrency 1).
func (c *Client) RunSequential(ctx context.Context, t *Target, reqs []Request) (Batch, error) {
	var b Batch
	cpu0, err := CPUSum(t.PIDs)
	if err != nil {
		return b, err
	}
	start := time.Now()
	totals := make([]time.Duration, len(reqs))
	errs := make([]string, len(reqs))
	for i, r := range reqs {
		s := time.Now()
		if _, err := c.Do(ctx, t.URL, r); err != nil {
			errs[i] = err.Error()
		}
		totals[i] = time.Since(s)
	}
	b.Wall = time.Since(start)
	cpu1, err := CPUSum(t.PIDs)
	if err != nil {
		return b, err
	}
	b.CPUSeconds = cpu1 - cpu0
	entries, err := t.Rec.Take(len(reqs), 30*time.Second)
	if err != nil {
		return b, fmt.Errorf("%s: %w", t.Name, err)
	}
	b.Results = results(entries, totals, errs)
	return b, nil
}

// RunOpen offers reqs at rate per second (open loop: each request starts on
// schedule whatever the others do), with at most maxInFlight outstanding;
// requests over that bound are not sent and counted in Skipped.
func (c *Client) RunOpen(ctx context.Context, t *Target, reqs []Request, rate float64, maxInFlight int) (Batch, int, error) {
	var b Batch
	cpu0, err := CPUSum(t.PIDs)
	if err != nil {
		return b, 0, err
	}
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var totals []time.Duration
	var errs []string
	sem := make(chan struct{}, maxInFlight)
	skipped, sent := 0, 0
	start := time.Now()
	for i, r := range reqs {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		select {
		case sem <- struct{}{}:
		default:
			skipped++
			continue
		}
		sent++
		wg.Add(1)
		go func(r Request) {
			defer wg.Done()
			defer func() { <-sem }()
			s := time.Now()
			_, err := c.Do(ctx, t.URL, r)
			mu.Lock()
			totals = append(totals, time.Since(s))
			if err != nil {
				errs = append(errs, err.Error())
			} else {
				errs = append(errs, "")
			}
			mu.Unlock()
		}(r)
	}
	wg.Wait()
	b.Wall = time.Since(start)
	cpu1, err := CPUSum(t.PIDs)
	if err != nil {
		return b, skipped, err
	}
	b.CPUSeconds = cpu1 - cpu0
	entries, err := t.Rec.Take(sent, 30*time.Second)
	if err != nil {
		return b, skipped, fmt.Errorf("%s: %w", t.Name, err)
	}
	// Client times and gateway entries are not matched one to one under
	// concurrency; both are kept as distributions.
	b.Results = results(entries, totals, errs)
	return b, skipped, nil
}

func results(entries []gateway.AccessLogEntry, totals []time.Duration, errs []string) []Result {
	out := make([]Result, len(entries))
	for i, e := range entries {
		out[i] = Result{Status: e.Status, ExtProc: e.ExtProc, FirstHop: e.FirstHop}
		if e.Err != nil {
			out[i].Err = e.Err.Error()
		}
		if i < len(totals) {
			out[i].Total = totals[i]
			if errs[i] != "" && out[i].Err == "" {
				out[i].Err = errs[i]
			}
		}
	}
	return out
}

// Configuration names. OneHopCPU is a second one-hop EPP with its own
// EndpointPickerConfig, run side by side with OneHop when asked for (the
// CPU baseline beside a GPU one-hop on the GPU machine).
const (
	Plain        = "plain"
	OneHop       = "one-hop"
	OneHopLinear = "one-hop-linear"
	TwoHop       = "two-hop"
	OneHopCPU    = "one-hop-cpu"
)

// Configs lists the configurations of a default run in report order.
var Configs = []string{Plain, OneHop, OneHopLinear, TwoHop}

// KnownConfigs is Configs and the optional ones, in report order.
var KnownConfigs = append(slices.Clone(Configs), OneHopCPU)
