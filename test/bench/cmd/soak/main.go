// Command soak runs `make soak`: it starts the sandbox (test/sandbox),
// measures the system's capacity with a short closed-loop ramp of the mixed
// workload, then offers about 70 % of it for 30 minutes while sampling the
// EPP's RSS and goroutine count, and writes a plot and a report under
// docs/results/soak/. It exits non-zero when a request got an unexpected
// answer or the EPP's memory or goroutines grew by more than the limit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/semantic-epp/semantic-epp/test/bench"
	"github.com/semantic-epp/semantic-epp/test/bench/soak"
	"github.com/semantic-epp/semantic-epp/test/sandbox"
	"github.com/semantic-epp/semantic-epp/test/scrape"
)

type options struct {
	repo, out, texts, simArgs string
	duration, warmup, span    time.Duration
	rampStep, window, sample  time.Duration
	ramp                      []int
	load, malformed, maxDrift float64
}

func main() {
	var o options
	var ramp string
	flag.StringVar(&o.repo, "repo", ".", "repository root")
	flag.StringVar(&o.out, "out", "docs/results/soak", "report directory (relative to -repo)")
	flag.StringVar(&o.texts, "texts", "../shared/data/domain/dev.jsonl", "JSONL prompt texts (relative to -repo)")
	flag.StringVar(&o.simArgs, "sim-args", "--mode echo --max-num-seqs 4 --time-to-first-token 40ms --inter-token-latency 0",
		"simulator flags: the simulated model servers' capacity")
	flag.DurationVar(&o.duration, "duration", 30*time.Minute, "soak length at the steady rate")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Minute, "start of the soak excluded from the drift check")
	flag.DurationVar(&o.span, "span", 5*time.Minute, "length of the first and last spans whose means the drift compares")
	flag.DurationVar(&o.rampStep, "ramp-step", 15*time.Second, "length of each step of the capacity ramp")
	flag.StringVar(&ramp, "ramp", "2,4,8,16,32,64,128", "closed-loop concurrencies of the capacity ramp")
	flag.DurationVar(&o.window, "window", 10*time.Second, "report window of the soak")
	flag.DurationVar(&o.sample, "sample", 10*time.Second, "interval of the RSS and goroutine samples")
	flag.Float64Var(&o.load, "load", 0.7, "fraction of the measured capacity offered during the soak")
	flag.Float64Var(&o.malformed, "malformed", 0.01, "fraction of malformed requests")
	flag.Float64Var(&o.maxDrift, "max-drift", 0.05, "largest growth of RSS and goroutines allowed after the warm-up")
	flag.Parse()
	for _, f := range strings.Split(ramp, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "soak: -ramp %q: want positive integers\n", ramp)
			os.Exit(2)
		}
		o.ramp = append(o.ramp, n)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		bench.Fail("soak", err)
	}
	if fails := rep.Failures(); len(fails) > 0 {
		fmt.Fprintln(os.Stderr, "soak FAILED:\n  "+strings.Join(fails, "\n  "))
		os.Exit(1)
	}
	fmt.Println("soak passed")
}

func run(ctx context.Context, o options) (*soak.Report, error) {
	repo, abs, err := bench.RepoPaths(o.repo)
	if err != nil {
		return nil, err
	}
	texts, err := bench.LoadTexts(abs(o.texts))
	if err != nil {
		return nil, err
	}
	for i, t := range texts {
		texts[i] = strings.TrimSpace(t)
	}
	rep := &soak.Report{
		Command: strings.Join(os.Args, " "), Started: time.Now().UTC(), LoadAvgStart: soak.LoadAvg(),
		SimArgs: o.simArgs, Load: o.load, MalformedShare: o.malformed, Duration: o.duration,
		Warmup: o.warmup, Span: o.span, MaxDrift: o.maxDrift, Texts: len(texts),
	}
	fmt.Println("starting the sandbox ...")
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	sb, err := sandbox.Start(sctx, sandbox.Options{
		RepoRoot: repo,
		EPPArgs:  []string{"--metrics-endpoint-auth=false"},
		SimArgs:  strings.Fields(o.simArgs),
	})
	cancel()
	if err != nil {
		return nil, err
	}
	defer sb.Stop()
	models := map[string]bool{}
	for _, p := range sb.Pods() {
		models[p.Model] = true
		rep.Pods++
	}
	for m := range models {
		rep.Models = append(rep.Models, m)
	}
	pid := sb.EPP.PID()
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", sb.EPP.MetricsPort)
	client := soak.NewClient(sb.GatewayURL)
	mix := soak.NewMix(texts, rep.Models, o.malformed, 1)
	t0 := time.Now()

	fmt.Println("warm-up: 100 sequential requests")
	for i := 0; i < 100; i++ {
		if out := client.Do(ctx, mix.Next()); out.Err != "" {
			return nil, fmt.Errorf("warm-up request: %s", out.Err)
		}
	}

	best := 0
	for _, c := range o.ramp {
		w := client.ClosedLoop(ctx, mix, c, o.rampStep, t0)
		rep.Ramp = append(rep.Ramp, soak.RampStep{Concurrency: c, Window: w})
		fmt.Printf("ramp: concurrency %3d: %7.1f req/s, p50 %s, p99 %s, %d unexpected\n",
			c, w.Throughput(), w.P50.Round(time.Millisecond), w.P99.Round(time.Millisecond), w.Errors)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if w.Errors > 0 {
			break
		}
		if w.Throughput() > rep.Capacity*1.03 {
			rep.Capacity, best = w.Throughput(), c
		} else if best > 0 && c >= 2*best {
			break // two steps without gain: the plateau
		}
	}
	if rep.Capacity == 0 {
		return nil, errors.New("the ramp measured no capacity")
	}
	rep.Rate = o.load * rep.Capacity
	fmt.Printf("capacity %.1f req/s (concurrency %d); soaking at %.1f req/s for %s\n", rep.Capacity, best, rep.Rate, o.duration)

	soakStart := time.Now()
	sctx, scancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(o.sample)
		defer tick.Stop()
		for {
			s, err := soak.TakeSample(sctx, pid, metricsURL, time.Since(soakStart))
			if err != nil {
				if sctx.Err() == nil {
					rep.SampleErrors = append(rep.SampleErrors, err.Error())
				}
			} else {
				rep.Samples = append(rep.Samples, s)
			}
			select {
			case <-sctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	client.OpenLoop(ctx, mix, rep.Rate, 1024, o.duration, o.window, soakStart, func(w soak.Window) {
		rep.Windows = append(rep.Windows, w)
		fmt.Printf("[%5.1f min] %6.1f req/s, p99 %s, %d unexpected, %d skipped, RSS %s\n", w.End.Minutes(),
			w.Throughput(), w.P99.Round(time.Millisecond), w.Errors, w.Skipped, lastRSS(rep))
	})
	scancel()
	<-done
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	rep.Elapsed = time.Since(soakStart)
	rep.LoadAvgEnd = soak.LoadAvg()
	rep.Classifier = classifierCounts(ctx, metricsURL)
	dir := abs(o.out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := rep.Write(dir); err != nil {
		return nil, err
	}
	fmt.Println("report:", filepath.Join(dir, "README.md"))
	return rep, nil
}

func lastRSS(rep *soak.Report) string {
	if len(rep.Samples) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(rep.Samples[len(rep.Samples)-1].RSSBytes)/(1<<20))
}

// classifierCounts reads the selector's decision counters at the end, so
// the report says how much of the auto traffic the classifier served.
func classifierCounts(ctx context.Context, url string) map[string]float64 {
	out := map[string]float64{}
	series := []struct{ name, label string }{{"semantic_epp_selector_decisions_total", ""}}
	for _, o := range []string{"ok", "error", "timeout"} {
		series = append(series, struct{ name, label string }{"semantic_epp_selector_classifier_duration_seconds_count", `outcome="` + o + `"`})
	}
	for _, r := range []string{"no_text", "low_confidence", "unmapped_category", "classifier_error", "classifier_timeout"} {
		series = append(series, struct{ name, label string }{"semantic_epp_selector_fallbacks_total", `reason="` + r + `"`})
		series = append(series, struct{ name, label string }{"semantic_epp_selector_rejections_total", `reason="` + r + `"`})
	}
	for _, m := range series {
		var labels []string
		key := m.name
		if m.label != "" {
			labels = []string{m.label}
			key += "{" + m.label + "}"
		}
		if v, ok, err := scrape.Metric(ctx, url, m.name, labels...); err == nil && ok {
			out[key] = v
		}
	}
	return out
}
