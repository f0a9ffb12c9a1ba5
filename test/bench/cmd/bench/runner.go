package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
	"github.com/semantic-epp/semantic-epp/test/bench"
	"github.com/semantic-epp/semantic-epp/test/scrape"
)

// Request kinds: an explicit model, `auto` with a prompt never seen
// (classifier cache miss) and `auto` with one of a few repeated prompts
// (cache hit). The plain EPP cannot select a model: it gets the explicit
// model with the same prompts in every kind.
const (
	kindExplicit = "explicit"
	kindMiss     = "auto-miss"
	kindHit      = "auto-hit"
	explicitName = "llama3-8b"
	hitPrompts   = 8
)

var kinds = []string{kindExplicit, kindMiss, kindHit}

// cell is one configuration × prompt size × kind of the latency phase.
type cell struct {
	cfg, kind string
	size      int
	extProc   []time.Duration
	firstHop  []time.Duration
	total     []time.Duration
	roundP50  []float64 // ms, one per round
	cpu       float64
	clfMean   time.Duration // mean classifier time inside the EPP (its histogram), 0 if none ran
	n, errors int
	errSample string
}

type sweepPoint struct {
	cfg            string
	rate, achieved float64
	p50, p99       time.Duration
	n, errors      int
	skipped        int
	cpu            float64
}

type soakSample struct {
	at  time.Duration
	rss map[string]int64 // process name -> VmRSS
}

type runner struct {
	o       options
	sys     *system
	client  *bench.Client
	texts   []string
	started time.Time
	prompts map[int][]string
	seq     int

	idleCPU  map[string]float64 // CPU seconds per second while idle, per target
	cells    map[string]*cell
	clfP50   map[string]map[int]time.Duration
	sweep    []sweepPoint
	soak     []soakSample
	procs    map[string]int // process name -> pid
	procEnd  map[string]bench.ProcSample
	duration time.Duration
	loadAvg  [2]string // /proc/loadavg at start and end: other work on the machine
}

// procNames names the processes of each configuration's Target.PIDs.
var procNames = map[string][]string{
	bench.Plain:        {"epp (plain; two-hop hop 2)"},
	bench.OneHop:       {"epp (one-hop, ONNX)"},
	bench.OneHopLinear: {"epp (one-hop, linear)"},
	bench.TwoHop:       {"semantic-router (two-hop hop 1)", "epp (plain; two-hop hop 2)"},
	bench.OneHopCPU:    {"epp (one-hop-cpu)"},
}

func cellKey(cfg string, size int, kind string) string {
	return fmt.Sprintf("%s/%d/%s", cfg, size, kind)
}

func (r *runner) all(ctx context.Context) error {
	t0 := time.Now()
	r.loadAvg[0] = loadAvg()
	tok, err := bench.Tokenizer()
	if err != nil {
		return err
	}
	r.prompts = map[int][]string{}
	for _, s := range r.o.sizes {
		if r.prompts[s], err = bench.Prompts(tok, r.texts, s, 64); err != nil {
			return err
		}
	}
	r.procs = map[string]int{}
	for cfg, t := range r.sys.targets {
		for i, pid := range t.PIDs {
			r.procs[procNames[cfg][i]] = pid
		}
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"idle CPU", r.measureIdle},
		{"warm-up", r.warmUp},
		{"latency (A/B rounds)", r.latency},
		{"classifier alone", r.classifierAlone},
		{"load sweep", r.loadSweep},
		{"memory soak", r.memorySoak},
	}
	for _, s := range steps {
		fmt.Printf("[%s] %s ...\n", time.Since(t0).Round(time.Second), s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}
	r.procEnd = map[string]bench.ProcSample{}
	for name, pid := range r.procs {
		if r.procEnd[name], err = bench.ReadProc(pid); err != nil {
			return err
		}
	}
	r.duration = time.Since(t0)
	r.loadAvg[1] = loadAvg()
	fmt.Printf("[%s] done\n", r.duration.Round(time.Second))
	return nil
}

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(raw))[:3], " ")
}

// reqs builds n requests of a kind for a configuration.
func (r *runner) reqs(cfg string, size int, kind string, n int) []bench.Request {
	out := make([]bench.Request, n)
	ps := r.prompts[size]
	for i := range out {
		model := "auto"
		if kind == kindExplicit || cfg == bench.Plain {
			model = explicitName
		}
		var prompt string
		if kind == kindHit {
			prompt = ps[i%hitPrompts]
		} else {
			r.seq++
			prompt = fmt.Sprintf("q%d %s", r.seq, ps[r.seq%len(ps)])
		}
		out[i] = bench.Request{Model: model, Prompt: prompt}
	}
	return out
}

func (r *runner) measureIdle(ctx context.Context) error {
	r.idleCPU = map[string]float64{}
	before := map[string]float64{}
	for name, pid := range r.procs {
		s, err := bench.ReadProc(pid)
		if err != nil {
			return err
		}
		before[name] = s.CPUSeconds
	}
	const window = 5 * time.Second
	select {
	case <-time.After(window):
	case <-ctx.Done():
		return ctx.Err()
	}
	for name, pid := range r.procs {
		s, err := bench.ReadProc(pid)
		if err != nil {
			return err
		}
		r.idleCPU[name] = (s.CPUSeconds - before[name]) / window.Seconds()
	}
	return nil
}

func (r *runner) warmUp(ctx context.Context) error {
	for _, cfg := range r.o.configs {
		for _, size := range r.o.sizes {
			for _, kind := range kinds {
				n := 10
				if kind == kindHit {
					n = hitPrompts
				}
				if _, err := r.client.RunSequential(ctx, r.sys.targets[cfg], r.reqs(cfg, size, kind, n)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// latency runs every scenario in rounds; each round runs one batch per
// configuration, in an order that rotates from round to round.
func (r *runner) latency(ctx context.Context) error {
	r.cells = map[string]*cell{}
	for _, size := range r.o.sizes {
		batch := r.o.batch
		if size >= 1024 {
			batch = max(3, r.o.batch/4)
		}
		for _, kind := range kinds {
			before, err := r.classifierHistograms(ctx)
			if err != nil {
				return err
			}
			for round := 0; round < r.o.rounds; round++ {
				for i := range r.o.configs {
					cfg := r.o.configs[(i+round)%len(r.o.configs)]
					b, err := r.client.RunSequential(ctx, r.sys.targets[cfg], r.reqs(cfg, size, kind, batch))
					if err != nil {
						return err
					}
					c := r.cells[cellKey(cfg, size, kind)]
					if c == nil {
						c = &cell{cfg: cfg, size: size, kind: kind}
						r.cells[cellKey(cfg, size, kind)] = c
					}
					var ext []time.Duration
					for _, res := range b.Results {
						c.n++
						if res.Status != 200 {
							c.errors++
							c.errSample = fmt.Sprintf("status %d %s", res.Status, res.Err)
							continue
						}
						ext = append(ext, res.ExtProc)
						c.firstHop = append(c.firstHop, res.FirstHop)
						c.total = append(c.total, res.Total)
					}
					c.extProc = append(c.extProc, ext...)
					c.roundP50 = append(c.roundP50, bench.Ms(bench.Percentile(ext, 0.5)))
					c.cpu += b.CPUSeconds
				}
			}
			after, err := r.classifierHistograms(ctx)
			if err != nil {
				return err
			}
			for cfg, a := range after {
				if n := a[1] - before[cfg][1]; n > 0 {
					r.cells[cellKey(cfg, size, kind)].clfMean = time.Duration((a[0] - before[cfg][0]) / n * float64(time.Second))
				}
			}
			line := fmt.Sprintf("  %5d tokens %-9s p50", size, kind)
			for _, cfg := range r.o.configs {
				c := r.cells[cellKey(cfg, size, kind)]
				if c.errors > 0 {
					fmt.Printf("  %s: %d failed requests, e.g. %s\n", cfg, c.errors, c.errSample)
				}
				line += fmt.Sprintf(" %s %.2f ms,", cfg, bench.Ms(bench.Percentile(c.extProc, 0.5)))
			}
			fmt.Println(strings.TrimSuffix(line, ","))
		}
	}
	return nil
}

// classifierHistograms returns the sum and count of successful
// classifications of each selector EPP.
func (r *runner) classifierHistograms(ctx context.Context) (map[string][2]float64, error) {
	out := map[string][2]float64{}
	for cfg, url := range r.sys.metrics {
		sum, count, err := scrape.HistogramSumCount(ctx, url, bench.ClassifierMetric, `outcome="ok"`)
		if err != nil {
			return nil, fmt.Errorf("%s classifier metrics: %w", cfg, err)
		}
		out[cfg] = [2]float64{sum, count}
	}
	return out, nil
}

// classifierAlone times the classifier in this process with the one-hop
// EPP's classifier settings and no cache, on unseen prompts: the
// "classifier's own p50" of the target.
func (r *runner) classifierAlone(ctx context.Context) error {
	r.clfP50 = map[string]map[int]time.Duration{}
	for _, backend := range []string{classifier.BackendONNX, classifier.BackendLinear} {
		clf, err := loader.Load(ctx, classifier.Config{Backend: backend, Parameters: json.RawMessage(`{"modelDir": "embedded"}`)})
		if err != nil {
			return fmt.Errorf("loading the %s classifier: %w", backend, err)
		}
		r.clfP50[backend] = map[int]time.Duration{}
		for _, size := range r.o.sizes {
			n := 60
			if size >= 1024 {
				n = 15
			}
			var ds []time.Duration
			for _, q := range r.reqs(bench.OneHop, size, kindMiss, n) {
				s := time.Now()
				if _, err := clf.Classify(ctx, q.Prompt); err != nil {
					_ = clf.Close()
					return fmt.Errorf("%s classifier: %w", backend, err)
				}
				ds = append(ds, time.Since(s))
			}
			r.clfP50[backend][size] = bench.Percentile(ds, 0.5)
		}
		_ = clf.Close()
	}
	return nil
}

// loadSweep offers increasing open-loop loads of 128-token `auto` requests
// (cache misses; explicit for plain), configurations alternating at every
// load; a configuration whose p99 passed 20× its first p99 or that failed
// requests is not offered higher loads.
func (r *runner) loadSweep(ctx context.Context) error {
	if r.o.step <= 0 {
		return nil
	}
	size := 128
	if _, ok := r.prompts[size]; !ok {
		size = r.o.sizes[0]
	}
	first := map[string]time.Duration{}
	stopped := map[string]bool{}
	for i, rate := range r.o.rates {
		for j := range r.o.configs {
			cfg := r.o.configs[(i+j)%len(r.o.configs)]
			if stopped[cfg] {
				continue
			}
			n := int(rate * r.o.step.Seconds())
			b, skipped, err := r.client.RunOpen(ctx, r.sys.targets[cfg], r.reqs(cfg, size, kindMiss, n), rate, 256)
			if err != nil {
				return err
			}
			p := sweepPoint{cfg: cfg, rate: rate, skipped: skipped, cpu: b.CPUSeconds, n: len(b.Results)}
			var ext []time.Duration
			for _, res := range b.Results {
				if res.Status != 200 {
					p.errors++
					continue
				}
				ext = append(ext, res.ExtProc)
			}
			p.p50, p.p99 = bench.Percentile(ext, 0.5), bench.Percentile(ext, 0.99)
			p.achieved = float64(len(ext)) / b.Wall.Seconds()
			r.sweep = append(r.sweep, p)
			if _, ok := first[cfg]; !ok {
				first[cfg] = p.p99
			}
			if p.errors > 0 || p.skipped > 0 || p.p99 > 20*first[cfg] {
				stopped[cfg] = true
			}
			fmt.Printf("  %6.0f req/s %-15s p50 %7.2f ms p99 %8.2f ms errors %d skipped %d\n", rate, cfg, bench.Ms(p.p50), bench.Ms(p.p99), p.errors, skipped)
		}
	}
	return nil
}

// memorySoak runs `auto` load (half cache misses) through the one-hop EPP
// and samples every process's RSS.
func (r *runner) memorySoak(ctx context.Context) error {
	if r.o.soak <= 0 {
		return nil
	}
	const every = 10 * time.Second
	t := r.sys.targets[bench.OneHop]
	start := time.Now()
	sample := func() error {
		s := soakSample{at: time.Since(start), rss: map[string]int64{}}
		for name, pid := range r.procs {
			p, err := bench.ReadProc(pid)
			if err != nil {
				return err
			}
			s.rss[name] = p.RSSBytes
		}
		r.soak = append(r.soak, s)
		return nil
	}
	if err := sample(); err != nil {
		return err
	}
	size := r.o.sizes[0]
	for _, s := range r.o.sizes {
		if s == 128 {
			size = s
		}
	}
	for time.Since(start) < r.o.soak {
		n := int(r.o.soakRate * every.Seconds())
		reqs := append(r.reqs(bench.OneHop, size, kindMiss, n/2), r.reqs(bench.OneHop, size, kindHit, n-n/2)...)
		b, _, err := r.client.RunOpen(ctx, t, reqs, r.o.soakRate, 256)
		if err != nil {
			return err
		}
		for _, res := range b.Results {
			if res.Status != 200 {
				return fmt.Errorf("soak: request failed: status %d %s", res.Status, strings.TrimSpace(res.Err))
			}
		}
		if err := sample(); err != nil {
			return err
		}
	}
	return nil
}
