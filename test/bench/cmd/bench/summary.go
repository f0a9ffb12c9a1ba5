package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/semantic-epp/semantic-epp/test/bench"
)

// summary is summary.json: every latency cell and, for each selector
// configuration and size, what `auto` cache misses add over explicit-model
// requests (issue 15's auto_minus_explicit_ms for a GPU one-hop).
type summary struct {
	Started           string        `json:"started"`
	Command           string        `json:"command"`
	Commit            string        `json:"commit"`
	Machine           string        `json:"machine"`
	Duration          string        `json:"duration"`
	Network           string        `json:"network"`
	SelectorConfig    string        `json:"selector_config"`
	CPUSelectorConfig string        `json:"cpu_selector_config,omitempty"`
	Configs           []string      `json:"configs"`
	Rounds            int           `json:"rounds"`
	Batch             int           `json:"batch"`
	LoadAvg           [2]string     `json:"load_average_start_end"`
	Cells             []cellSummary `json:"cells"`
	AutoMinusExplicit []autoDelta   `json:"auto_minus_explicit"`
}

type cellSummary struct {
	Config   string  `json:"config"`
	Tokens   int     `json:"tokens"`
	Kind     string  `json:"kind"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Mean     float64 `json:"mean_ms"`
	// ClassifierMean: the selector's classifier histogram over the cell,
	// cache hits included; 0 where no classifier ran or none is scraped.
	ClassifierMean float64 `json:"classifier_mean_ms"`
	CPUPer1000     float64 `json:"cpu_s_per_1000_requests"`
}

// autoDelta is auto-miss minus explicit added latency of one configuration
// at one size: p50s and means, with the classifier's mean inside the EPP
// on the misses.
type autoDelta struct {
	Config         string  `json:"config"`
	Tokens         int     `json:"tokens"`
	P50            float64 `json:"auto_minus_explicit_ms"`
	Mean           float64 `json:"auto_minus_explicit_mean_ms"`
	ClassifierMean float64 `json:"classifier_mean_ms"`
}

// selectors are the configurations that classify `auto` requests.
var selectors = []string{bench.OneHop, bench.OneHopLinear, bench.TwoHop, bench.OneHopCPU}

func (r *runner) summary() summary {
	s := summary{
		Started: r.started.Format(time.RFC3339), Command: strings.Join(append([]string{"bench"}, os.Args[1:]...), " "),
		Commit: commit(), Machine: machine(), Duration: r.duration.Round(time.Second).String(), Network: r.sys.network,
		SelectorConfig: r.o.selectorConfig, Configs: r.o.configs, Rounds: r.o.rounds, Batch: r.o.batch, LoadAvg: r.loadAvg,
		Cells: []cellSummary{}, AutoMinusExplicit: []autoDelta{},
	}
	if slices.Contains(r.o.configs, bench.OneHopCPU) {
		s.CPUSelectorConfig = r.o.cpuConfig
	}
	for _, c := range r.sortedCells() {
		s.Cells = append(s.Cells, cellSummary{
			Config: c.cfg, Tokens: c.size, Kind: c.kind, Requests: c.n, Errors: c.errors,
			P50: round3(bench.Ms(bench.Percentile(c.extProc, 0.5))), P99: round3(bench.Ms(bench.Percentile(c.extProc, 0.99))),
			Mean: round3(bench.Ms(bench.Mean(c.extProc))), ClassifierMean: round3(bench.Ms(c.clfMean)),
			CPUPer1000: round3(c.cpu / float64(max(1, c.n)) * 1000),
		})
	}
	for _, size := range r.o.sizes {
		for _, cfg := range r.o.configs {
			ex, miss := r.cells[cellKey(cfg, size, kindExplicit)], r.cells[cellKey(cfg, size, kindMiss)]
			if ex == nil || miss == nil || !slices.Contains(selectors, cfg) {
				continue
			}
			s.AutoMinusExplicit = append(s.AutoMinusExplicit, autoDelta{
				Config: cfg, Tokens: size,
				P50:            round3(bench.Ms(bench.Percentile(miss.extProc, 0.5) - bench.Percentile(ex.extProc, 0.5))),
				Mean:           round3(bench.Ms(bench.Mean(miss.extProc) - bench.Mean(ex.extProc))),
				ClassifierMean: round3(bench.Ms(miss.clfMean)),
			})
		}
	}
	return s
}

// subsetMarkdown is summary.md of a run with other configurations than the
// default set: the latency table and auto minus explicit.
func (r *runner) subsetMarkdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	s := r.summary()
	w("# System benchmark: %s\n\n", strings.Join(r.o.configs, ", "))
	w("Command line `%s` on %s (UTC), commit %s, in %s. Machine: %s. Pods on %s addresses. ", s.Command, r.started.Format("2006-01-02 15:04"), s.Commit, s.Duration, s.Machine, s.Network)
	w("one-hop: `%s`", r.o.selectorConfig)
	if s.CPUSelectorConfig != "" {
		w("; one-hop-cpu: `%s`", s.CPUSelectorConfig)
	}
	w(". Closed loop, one request at a time, %d rounds of %d requests per configuration, the order rotating every round. Load average %s at the start, %s at the end.\n\n", r.o.rounds, r.o.batch, r.loadAvg[0], r.loadAvg[1])
	w("## Added latency, p50 / p99 (ms)\n\n| tokens | kind |")
	for _, c := range r.o.configs {
		w(" %s |", c)
	}
	w(" errors |\n|---|---|%s---|\n", strings.Repeat("---|", len(r.o.configs)))
	for _, size := range r.o.sizes {
		for _, kind := range kinds {
			w("| %d | %s |", size, kind)
			errs, n := 0, 0
			for _, cfg := range r.o.configs {
				c := r.cells[cellKey(cfg, size, kind)]
				errs, n = errs+c.errors, n+c.n
				w(" %s / %s |", f2(bench.Ms(bench.Percentile(c.extProc, 0.5))), f2(bench.Ms(bench.Percentile(c.extProc, 0.99))))
			}
			w(" %d of %d |\n", errs, n)
		}
	}
	w("\n## `auto` cache misses minus explicit-model requests (ms)\n\n| tokens | config | p50 − p50 | mean − mean | classifier inside the EPP, mean |\n|---|---|---|---|---|\n")
	for _, d := range s.AutoMinusExplicit {
		w("| %d | %s | %s | %s | %s |\n", d.Tokens, d.Config, f3(d.P50), f3(d.Mean), f3(d.ClassifierMean))
	}
	return b.String()
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
