package soak

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// RampStep is one concurrency of the capacity ramp.
type RampStep struct {
	Concurrency int
	Window      Window
}

// Report is everything one soak run measured.
type Report struct {
	Command                  string
	Started                  time.Time
	LoadAvgStart, LoadAvgEnd string
	SimArgs                  string
	Pods                     int
	Models                   []string
	Texts                    int
	Load, MalformedShare     float64
	Duration, Warmup, Span   time.Duration
	MaxDrift                 float64

	Ramp     []RampStep
	Capacity float64 // req/s, the best step of the ramp
	Rate     float64 // req/s offered during the soak

	Windows      []Window
	Samples      []Sample
	SampleErrors []string
	Elapsed      time.Duration
	Classifier   map[string]float64
}

// Totals sums the soak windows.
func (r *Report) Totals() Window {
	t := Window{ByStatus: map[int]int{}}
	for _, w := range r.Windows {
		t.N += w.N
		t.Errors += w.Errors
		t.Skipped += w.Skipped
		for k, v := range w.ByStatus {
			t.ByStatus[k] += v
		}
		if len(t.ErrSample) < 10 {
			t.ErrSample = append(t.ErrSample, w.ErrSample...)
		}
	}
	if len(r.Windows) > 0 {
		t.Start, t.End = r.Windows[0].Start, r.Windows[len(r.Windows)-1].End
	}
	return t
}

// Failures lists what makes the run fail; empty when it passed.
func (r *Report) Failures() []string {
	var out []string
	t := r.Totals()
	if t.Errors > 0 {
		out = append(out, fmt.Sprintf("%d unexpected answers of %d requests (e.g. %s)", t.Errors, t.N, strings.Join(t.ErrSample, "; ")))
	}
	if t.Skipped > 0 {
		out = append(out, fmt.Sprintf("%d requests not sent: the in-flight bound was reached", t.Skipped))
	}
	if len(r.SampleErrors) > 0 {
		out = append(out, fmt.Sprintf("%d failed samples (e.g. %s)", len(r.SampleErrors), r.SampleErrors[0]))
	}
	rss, gor, err := Drift(r.Samples, r.Warmup, r.Span)
	switch {
	case err != nil:
		out = append(out, "drift: "+err.Error())
	default:
		if math.Abs(rss) > r.MaxDrift {
			out = append(out, fmt.Sprintf("EPP RSS moved %+.1f %% after the warm-up (limit %.0f %%)", 100*rss, 100*r.MaxDrift))
		}
		if math.Abs(gor) > r.MaxDrift {
			out = append(out, fmt.Sprintf("EPP goroutines moved %+.1f %% after the warm-up (limit %.0f %%)", 100*gor, 100*r.MaxDrift))
		}
	}
	return out
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// Write saves the plot (soak.png), the raw samples and windows
// (soak.json) and the report (README.md) into dir.
func (r *Report) Write(dir string) error {
	if err := Plot(r.Samples, r.Windows, r.Warmup.Minutes(), filepath.Join(dir, "soak.png")); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "soak.json"), raw, 0o644); err != nil {
		return fmt.Errorf("writing soak.json: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(r.Markdown()), 0o644)
}

// Markdown is the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	t := r.Totals()
	verdict := "**passed**"
	if f := r.Failures(); len(f) > 0 {
		verdict = "**failed**: " + strings.Join(f, "; ")
	}
	p("# Soak: %s at %.0f %% of the measured capacity\n\n", r.Duration, 100*r.Load)
	p("Written by `test/bench/cmd/soak` (`make soak`); do not edit by hand. Run %s UTC, %s of soak, verdict %s.\n\n",
		r.Started.Format("2006-01-02 15:04"), r.Elapsed.Round(time.Second), verdict)
	p("Command: `%s`. Machine: load average %s at the start, %s at the end (2 cores, shared with other work).\n\n",
		r.Command, r.LoadAvgStart, r.LoadAvgEnd)
	p("System: the sandbox (real kube-apiserver, `deploy/` manifests, bin/epp with `config/semantic-epp.yaml`, "+
		"the Envoy-like gateway), %d simulated model-server pods of %s, simulator flags `%s`.\n\n", r.Pods, strings.Join(r.Models, ", "), r.SimArgs)
	p("Workload: %d prompt texts of the shared dev set, half `auto` and half an explicit model, half chat and half "+
		"completions, 30 %% streamed, every second prompt made unique (classifier cache misses), %.0f %% malformed bodies "+
		"that must get 400. Every answer is checked: the status, the model of explicit requests, streams that end with `[DONE]`.\n\n",
		r.Texts, 100*r.MalformedShare)
	p("## Capacity (closed-loop ramp, the same mix)\n\n| concurrency | req/s | p50 | p99 | unexpected |\n|---|---|---|---|---|\n")
	for _, s := range r.Ramp {
		p("| %d | %.1f | %s | %s | %d |\n", s.Concurrency, s.Window.Throughput(), s.Window.P50.Round(time.Millisecond), s.Window.P99.Round(time.Millisecond), s.Window.Errors)
	}
	p("\nCapacity: **%.1f req/s** (the best step; a step counts only when it beats the best by 3 %%). Soak rate: %.1f req/s (open loop).\n\n", r.Capacity, r.Rate)
	p("## Soak\n\n![EPP RSS, goroutines, throughput and p99 over the soak](soak.png)\n\n")
	codes := make([]int, 0, len(t.ByStatus))
	for k := range t.ByStatus {
		codes = append(codes, k)
	}
	sort.Ints(codes)
	parts := []string{}
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", c, t.ByStatus[c]))
	}
	var lat []time.Duration
	for _, w := range r.Windows {
		lat = append(lat, w.P99)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p("- Requests: %d (%.1f req/s achieved), by status %s; **%d unexpected**, %d not sent (in-flight bound).\n",
		t.N, t.Throughput(), strings.Join(parts, ", "), t.Errors, t.Skipped)
	if len(lat) > 0 {
		p("- p99 latency per %s window: median %s, worst %s.\n", (r.Windows[0].End - r.Windows[0].Start).Round(time.Second), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	}
	if rss, gor, err := Drift(r.Samples, r.Warmup, r.Span); err == nil {
		var after []Sample
		for _, s := range r.Samples {
			if s.At >= r.Warmup {
				after = append(after, s)
			}
		}
		lo, hi := after[0], after[0]
		glo, ghi := after[0].Goroutines, after[0].Goroutines
		for _, s := range after {
			if s.RSSBytes < lo.RSSBytes {
				lo = s
			}
			if s.RSSBytes > hi.RSSBytes {
				hi = s
			}
			glo, ghi = math.Min(glo, s.Goroutines), math.Max(ghi, s.Goroutines)
		}
		p("- EPP RSS after the %s warm-up: mean of the last %s vs the first %s **%+.2f %%** (limit ±%.0f %%); range %s … %s.\n",
			r.Warmup, r.Span, r.Span, 100*rss, 100*r.MaxDrift, mib(float64(lo.RSSBytes)), mib(float64(hi.RSSBytes)))
		p("- EPP goroutines, same spans: **%+.2f %%**; range %.0f … %.0f (they move with the requests in flight at the instant of a sample).\n",
			100*gor, glo, ghi)
	} else {
		p("- Drift not computed: %v\n", err)
	}
	if len(r.Classifier) > 0 {
		names := make([]string, 0, len(r.Classifier))
		for k := range r.Classifier {
			names = append(names, k)
		}
		sort.Strings(names)
		p("- The selector's counters at the end of the run (ramp included, all label sets summed):")
		for _, k := range names {
			p(" `%s` %.0f;", k, r.Classifier[k])
		}
		p(" `unmapped_category` is a label with no category of its own (routed to the default model by design); `classifier_timeout` and `classifier_error` are failures answered by the default model (fail-open), invisible to the client.\n")
	}
	if len(t.ErrSample) > 0 {
		p("\nUnexpected answers (first ones):\n\n")
		for _, e := range t.ErrSample {
			p("- `%s`\n", strings.ReplaceAll(e, "`", "'"))
		}
	}
	p("\nRaw windows and samples: [soak.json](soak.json).\n")
	return b.String()
}

// LoadAvg is /proc/loadavg's three averages.
func LoadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
