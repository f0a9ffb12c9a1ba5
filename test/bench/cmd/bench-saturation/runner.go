package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/semantic-epp/semantic-epp/test/bench"
)

const (
	scarceModel = "phi4-mini"
	otherModel  = "llama3-8b"
)

type runner struct {
	o       options
	sys     *system
	client  *bench.Client
	started time.Time

	firstChoice map[string]string // prompt -> model the capacity-blind selector chose, idle pool
	scarce      []string          // prompts whose first choice is phi4-mini
	others      []string          // prompts whose first choice is another model
	cells       []*cell
}

// cell is one configuration at one offered load.
type cell struct {
	Config  string               `json:"config"`
	Rate    float64              `json:"rate"`
	Results []bench.StreamResult `json:"-"` // per request in results.csv
	stats
}

// calibrate sends each candidate prompt once, one at a time so that no pool
// is loaded, through the capacity-blind selector and records the model that
// served it: the classifier's first choice, against which a load-aware move
// is counted.
func (r *runner) calibrate(ctx context.Context, texts []bench.LabelledText) error {
	var math, rest []string
	for _, t := range texts {
		p := truncateWords(t.Text, 48)
		if t.Label == "math" {
			math = append(math, p)
		} else {
			rest = append(rest, p)
		}
	}
	nMath := int(float64(r.o.pool)*r.o.mathShare + 0.5)
	cands := append(pick(math, nMath), pick(rest, r.o.pool-nMath)...)
	fmt.Printf("calibrating the first choice of %d prompts on the idle pool ...\n", len(cands))
	r.firstChoice = map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := 0
	sem := make(chan struct{}, 2)
	for _, p := range cands {
		wg.Add(1)
		sem <- struct{}{}
		go func(p string) {
			defer wg.Done()
			defer func() { <-sem }()
			res := r.client.Stream(ctx, r.sys.urls[Blind], bench.Request{Model: "auto", Prompt: p}, r.o.maxTokens)
			mu.Lock()
			defer mu.Unlock()
			if !res.OK() {
				errs++
				return
			}
			r.firstChoice[p] = res.Model
		}(p)
	}
	wg.Wait()
	if errs > 0 {
		return fmt.Errorf("calibration: %d of %d requests failed on the idle pool", errs, len(cands))
	}
	for _, p := range cands {
		if r.firstChoice[p] == scarceModel {
			r.scarce = append(r.scarce, p)
		} else {
			r.others = append(r.others, p)
		}
	}
	if len(r.scarce) == 0 || len(r.others) == 0 {
		return fmt.Errorf("calibration: %d prompts go to %s, %d elsewhere: need both", len(r.scarce), scarceModel, len(r.others))
	}
	fmt.Printf("  %d prompts go to %s first, %d to other models\n", len(r.scarce), scarceModel, len(r.others))
	return nil
}

// sweep runs every configuration at every load, rotating the order of the
// configurations from one load to the next.
func (r *runner) sweep(ctx context.Context) error {
	var run []string
	for _, c := range configs {
		if _, ok := r.sys.urls[c]; ok {
			run = append(run, c)
		}
	}
	rng := rand.New(rand.NewPCG(11, 7))
	// Warm-up, not recorded: every configuration's connections, caches and
	// first scrapes under the lowest load.
	warm := make([]bench.Request, int(r.o.rates[0]*3))
	for j := range warm {
		warm[j] = bench.Request{Model: "auto", Prompt: r.scarce[j%len(r.scarce)]}
	}
	for _, name := range run {
		r.client.RunOpenStream(ctx, r.sys.urls[name], warm, r.o.rates[0], r.o.maxTokens)
		time.Sleep(time.Second)
	}
	for i, rate := range r.o.rates {
		n := int(rate * r.o.step.Seconds())
		reqs := make([]bench.Request, n)
		for j := range reqs {
			pool := r.others
			if rng.Float64() < r.o.mathShare {
				pool = r.scarce
			}
			reqs[j] = bench.Request{Model: "auto", Prompt: pool[rng.IntN(len(pool))]}
		}
		for k := range run {
			name := run[(i+k)%len(run)]
			if err := ctx.Err(); err != nil {
				return err
			}
			start := time.Now()
			res := r.client.RunOpenStream(ctx, r.sys.urls[name], reqs, rate, r.o.maxTokens)
			c := &cell{Config: name, Rate: rate, Results: res}
			c.stats = r.summarize(res)
			r.cells = append(r.cells, c)
			fmt.Printf("  %-19s %5.1f req/s: goodput %5.2f/s, TTFT p50 %6.0f ms p99 %6.0f ms, errors %d, moved %.1f%% (%s)\n",
				name, rate, c.Goodput, c.P50ms, c.P99ms, c.Errors, 100*c.Moved, time.Since(start).Round(time.Second))
			// Queues drained (every response is in); let the EPPs' 50 ms
			// metrics scrape see the idle pool before the next step.
			time.Sleep(time.Second)
		}
	}
	return nil
}

// stats are the figures of one cell.
type stats struct {
	Sent      int     `json:"sent"`
	Completed int     `json:"completed"`
	Errors    int     `json:"errors"`
	InSLO     int     `json:"in_slo"`
	Goodput   float64 `json:"goodput_rps"` // completed within the TTFT SLO per second of the step
	P50ms     float64 `json:"ttft_p50_ms"`
	P99ms     float64 `json:"ttft_p99_ms"`
	Moved     float64 `json:"moved_share"`  // completed requests served by a model other than their first choice
	Scarce    float64 `json:"scarce_share"` // completed requests served by phi4-mini
	ErrorKind string  `json:"first_error,omitempty"`
}

func (r *runner) summarize(res []bench.StreamResult) stats {
	s := stats{Sent: len(res)}
	var ttft []time.Duration
	moved, scarce := 0, 0
	for _, x := range res {
		if !x.OK() {
			s.Errors++
			if s.ErrorKind == "" {
				s.ErrorKind = x.Err
			}
			continue
		}
		s.Completed++
		ttft = append(ttft, x.TTFT)
		if x.TTFT <= r.o.slo {
			s.InSLO++
		}
		if x.Model != r.firstChoice[x.Prompt] {
			moved++
		}
		if x.Model == scarceModel {
			scarce++
		}
	}
	s.Goodput = float64(s.InSLO) / r.o.step.Seconds()
	s.P50ms, s.P99ms = bench.Ms(bench.Percentile(ttft, 0.5)), bench.Ms(bench.Percentile(ttft, 0.99))
	if s.Completed > 0 {
		s.Moved, s.Scarce = float64(moved)/float64(s.Completed), float64(scarce)/float64(s.Completed)
	}
	return s
}

func (r *runner) cell(cfg string, rate float64) *cell {
	for _, c := range r.cells {
		if c.Config == cfg && c.Rate == rate {
			return c
		}
	}
	return nil
}

func (r *runner) sortedCells() []*cell {
	out := append([]*cell{}, r.cells...)
	order := map[string]int{}
	for i, c := range configs {
		order[c] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Rate != out[j].Rate {
			return out[i].Rate < out[j].Rate
		}
		return order[out[i].Config] < order[out[j].Config]
	})
	return out
}

// pick takes n items spread evenly over xs (deterministic).
func pick(xs []string, n int) []string {
	if n >= len(xs) {
		return xs
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, xs[i*len(xs)/n])
	}
	return out
}

// truncateWords keeps the first n words: short prompts keep the simulators'
// time a matter of their latency flags, not of the prompt's length.
func truncateWords(s string, n int) string {
	w := strings.Fields(s)
	if len(w) > n {
		w = w[:n]
	}
	return strings.Join(w, " ")
}
