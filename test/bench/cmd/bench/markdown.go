package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/test/bench"
)

// markdown renders the system section of docs/benchmarks.md; rel is the
// results folder relative to the document.
func (r *runner) markdown(rel string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	cmd := "`make bench`"
	if args := os.Args[1:]; len(args) > 0 {
		cmd += " (command line `bench " + strings.Join(args, " ") + "`)"
	}
	w("## System benchmarks: plain EPP, one hop, two hops (issue 7)\n\n")
	w("Measured by %s on %s (UTC), commit %s, in %s. Machine: %s. ", cmd, r.started.Format("2006-01-02 15:04"), commit(), r.duration.Round(time.Second), machine())
	w("Raw results: [`%s/`](%s/) (`latency.csv` every request, `rounds.csv` per-round p50s, `sweep.csv`, `soak-rss.csv`, `summary.md`).\n\n", rel, rel)
	w("**Set-up.** One run, one sandbox (`test/sandbox`: kube-apiserver + etcd, the 4 simulated model-server pods of `deploy/`, `--mode echo`, no simulated latency). ")
	w("Every configuration has its own Envoy-like gateway (`test/gateway`, ext_proc FULL_DUPLEX_STREAMED to the EPP over TLS, as GIE's envoy.yaml) in this process:\n\n")
	w("- **plain**: `bin/epp` with [`test/bench/config/plain.yaml`](../test/bench/config/plain.yaml): upstream openai-parser, single-profile handler, queue/KV/prefix scorers, max-score picker; our `served-model-filter` keeps the pods of the requested model (the pool spans two models; it is a filter, not model selection). Plain cannot select a model, so it always gets the explicit model (`%s`) with the same prompts;\n", explicitName)
	w("- **one-hop**: `bin/epp` with `%s` (semantic-model-selector with the default classifier on ONNX Runtime, cache 1,024);\n", r.o.selectorConfig)
	w("- **one-hop-linear**: the same with `backend: linear` ([`test/bench/config/linear.yaml`](../test/bench/config/linear.yaml));\n")
	w("- **two-hop**: `bin/semantic-router` (`test/bench/cmd/semantic-router`: our selector and classifier with the same `%s` parameters, sets `x-selected-model` and rewrites the body's model) as a first ext_proc filter (request body BUFFERED, response path skipped, plaintext gRPC), then the **plain** EPP (the same process as plain).\n\n", r.o.selectorConfig)
	w("**Added latency** is what the gateway spent waiting on ext_proc processors per request (`AccessLogEntry.ExtProc`): the whole first-hop exchange, the EPP's request path (stream opened until the processed body is complete), its response-header round trip and the wait between the last response chunk sent and the EPP's end of stream; model-server time is excluded. ")
	w("Prompts are dev-set texts cut to exactly N tokens of the shipped tokenizer plus a short unique tag (`q<n> `). Kinds: `explicit` (model `%s`), `auto-miss` (`auto`, a prompt never seen: the classifier runs), `auto-hit` (`auto`, one of %d repeated prompts: cache hits). ", explicitName, hitPrompts)
	w("Latency phase: closed loop, one request at a time, %d rounds per scenario; each round sends a batch of %d requests (a quarter at ≥1,024 tokens) to each configuration, in an order that rotates every round. Ratios are the median over rounds of the per-round p50 ratio (paired), not ratios of pooled numbers. ", r.o.rounds, r.o.batch)
	w("**The load generator, the gateways, the three EPPs, the router, the simulators and the API server share the 2 cores**, so absolute numbers include CPU contention; the loads are kept modest. Other sessions' work also ran on the machine: load average (1, 5, 15 min) %s at the start, %s at the end.\n\n", r.loadAvg[0], r.loadAvg[1])

	w("### Added latency, p50 / p99 (ms)\n\n| tokens | kind | plain | one-hop | one-hop-linear | two-hop (of which hop 1 p50) | errors |\n|---|---|---|---|---|---|---|\n")
	for _, size := range r.o.sizes {
		for _, kind := range kinds {
			w("| %d | %s |", size, kind)
			errs := 0
			for _, cfg := range bench.Configs {
				c := r.cells[cellKey(cfg, size, kind)]
				errs += c.errors
				w(" %s / %s", f2(bench.Ms(bench.Percentile(c.extProc, 0.5))), f2(bench.Ms(bench.Percentile(c.extProc, 0.99))))
				if cfg == bench.TwoHop {
					w(" (%s)", f2(bench.Ms(bench.Percentile(c.firstHop, 0.5))))
				}
				w(" |")
			}
			w(" %d of %d |\n", errs, r.total(size, kind))
		}
	}
	w("\n### Paired ratios of p50 added latency (median over %d rounds)\n\n| tokens | kind | one-hop / two-hop | one-hop / plain | one-hop-linear / plain | one-hop − plain (ms) | classifier alone p50, ONNX / linear (ms) | classifier inside the EPP, mean, ONNX / linear (ms) |\n|---|---|---|---|---|---|---|---|\n", r.o.rounds)
	for _, size := range r.o.sizes {
		for _, kind := range kinds {
			diff := bench.Ms(bench.Percentile(r.cells[cellKey(bench.OneHop, size, kind)].extProc, 0.5)) - bench.Ms(bench.Percentile(r.cells[cellKey(bench.Plain, size, kind)].extProc, 0.5))
			w("| %d | %s | %s | %s | %s | %s | %s / %s | %s / %s |\n", size, kind,
				f2(r.pairedRatio(bench.OneHop, bench.TwoHop, size, kind)), f2(r.pairedRatio(bench.OneHop, bench.Plain, size, kind)),
				f2(r.pairedRatio(bench.OneHopLinear, bench.Plain, size, kind)), f2(diff),
				f2(bench.Ms(r.clfP50[classifier.BackendONNX][size])), f3(bench.Ms(r.clfP50[classifier.BackendLinear][size])),
				f2(bench.Ms(r.cells[cellKey(bench.OneHop, size, kind)].clfMean)), f3(bench.Ms(r.cells[cellKey(bench.OneHopLinear, size, kind)].clfMean)))
		}
	}
	w("\n\"Classifier alone\": the same classifier (embedded model, no cache) called back to back in the benchmark process on unseen prompts of that size, in this run. \"Inside the EPP\": the selector's own `%s` histogram (sum/count of successful classifications, cache hits included) over the scenario, read from the one-hop EPPs' metrics ports.\n\n", bench.ClassifierMetric)

	w("### CPU seconds per 1,000 requests (latency phase)\n\nCPU time (`/proc/<pid>/stat` utime+stime) of the configuration's processes during its own batches, background work included (metrics scraping every 50 ms); two-hop = semantic-router + plain EPP.\n\n| tokens | kind | plain | one-hop | one-hop-linear | two-hop |\n|---|---|---|---|---|---|\n")
	for _, size := range r.o.sizes {
		for _, kind := range kinds {
			w("| %d | %s |", size, kind)
			for _, cfg := range bench.Configs {
				c := r.cells[cellKey(cfg, size, kind)]
				w(" %s |", f2(c.cpu/float64(max(1, c.n))*1000))
			}
			w("\n")
		}
	}
	w("\nIdle CPU per process (5 s before any load, CPU s/s):")
	for _, name := range sortedKeys(r.idleCPU) {
		w(" %s %s;", name, f3(r.idleCPU[name]))
	}
	w(" CPU times have 10 ms resolution per read, two reads per batch.\n\n")

	w("### Load sweep (128 tokens, `auto` cache misses; plain: explicit)\n\nOpen loop: requests start on schedule for %s per step whatever the others do (at most 256 in flight; more are counted as skipped); configurations alternate at each load. A configuration that failed or skipped requests or whose p99 passed 20× its first p99 is not offered higher loads.\n\n", r.o.step)
	w("![added latency vs offered load](%s/latency-vs-load.png)\n\n| offered req/s | config | achieved req/s | p50 ms | p99 ms | errors | skipped | CPU s per 1,000 requests |\n|---|---|---|---|---|---|---|---|\n", rel)
	for _, p := range r.sweep {
		w("| %.0f | %s | %.1f | %s | %s | %d | %d | %s |\n", p.rate, p.cfg, p.achieved, f2(bench.Ms(p.p50)), f2(bench.Ms(p.p99)), p.errors, p.skipped, f2(p.cpu/float64(max(1, p.n))*1000))
	}
	w("\nOffered load at which p99 first doubles over the lowest load:")
	for _, cfg := range bench.Configs {
		w(" **%s** %s;", cfg, r.p99DoubleRate(cfg))
	}
	w("\n\n### Memory\n\n")
	if len(r.soak) > 0 {
		first, last := r.soak[0], r.soak[len(r.soak)-1]
		w("Soak: %s of `auto` load at %.0f req/s through the one-hop EPP (half cache misses, 128 tokens), RSS sampled every 10 s (`soak-rss.csv`).\n\n", r.o.soak, r.o.soakRate)
		w("| process | RSS at soak start (MB) | RSS at end (MB) | max during soak (MB) | peak RSS VmHWM, whole run (MB) |\n|---|---|---|---|---|\n")
		for _, name := range sortedKeys(r.procs) {
			var mx int64
			for _, s := range r.soak {
				mx = max(mx, s.rss[name])
			}
			w("| %s | %.0f | %.0f | %.0f | %.0f |\n", name, mb(first.rss[name]), mb(last.rss[name]), mb(mx), mb(r.procEnd[name].HWMBytes))
		}
	}
	r.targets(&b)
	w("\nGPU section (one-hop with the CUDA backend on the device machine, CPU baseline rerun there): not part of this run; it is measured on the GPU machine with `-selector-config` and written up by hand below the generated section.\n")
	return b.String()
}

func mb(v int64) float64 { return float64(v) / 1e6 }

func (r *runner) total(size int, kind string) int {
	n := 0
	for _, cfg := range bench.Configs {
		n += r.cells[cellKey(cfg, size, kind)].n
	}
	return n
}

// targets writes issue 7's targets against this run's numbers.
func (r *runner) targets(b *strings.Builder) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	w("\n### Issue 7 targets in this run\n\n| target | measured | met |\n|---|---|---|\n")
	if _, ok := r.cells[cellKey(bench.OneHop, 128, kindMiss)]; ok {
		v := r.pairedRatio(bench.OneHop, bench.TwoHop, 128, kindMiss)
		w("| one-hop / two-hop p50 ≤ 0.6 at 128 tokens (CPU, `auto` misses) | %s | %s |\n", f2(v), yes(v <= 0.6))
	}
	for _, size := range r.o.sizes {
		on := bench.Ms(bench.Percentile(r.cells[cellKey(bench.OneHop, size, kindMiss)].extProc, 0.5))
		pl := bench.Ms(bench.Percentile(r.cells[cellKey(bench.Plain, size, kindMiss)].extProc, 0.5))
		clf := bench.Ms(r.clfP50[classifier.BackendONNX][size])
		w("| one-hop − plain ≤ classifier p50 + 0.2 ms, %d tokens | %s − %s = %s ms vs %s + 0.2 ms | %s |\n", size, f2(on), f2(pl), f2(on-pl), f2(clf), yes(on-pl <= clf+0.2))
	}
	for _, size := range r.o.sizes {
		on := bench.Ms(bench.Mean(r.cells[cellKey(bench.OneHop, size, kindMiss)].extProc))
		pl := bench.Ms(bench.Mean(r.cells[cellKey(bench.Plain, size, kindMiss)].extProc))
		clf := bench.Ms(r.cells[cellKey(bench.OneHop, size, kindMiss)].clfMean)
		w("| same with means and the classifier time measured inside the EPP, %d tokens | %s − %s = %s ms vs %s + 0.2 ms | %s |\n", size, f2(on), f2(pl), f2(on-pl), f2(clf), yes(on-pl <= clf+0.2))
	}
	for _, size := range r.o.sizes {
		v := r.pairedRatio(bench.OneHop, bench.Plain, size, kindHit)
		w("| `auto` cache hits ≤ 1.1× plain, %d tokens | %s | %s |\n", size, f2(v), yes(v <= 1.1))
	}
	errs := 0
	for _, c := range r.cells {
		errs += c.errors
	}
	w("| no errors below saturation | %d failed requests in the latency phase; sweep errors in its table | %s |\n", errs, yes(errs == 0))
	if len(r.soak) < 2 {
		w("| memory flat across a 10-minute run | no soak in this run | not checked |\n")
		return
	}
	name := "epp (one-hop, ONNX)"
	first, last := r.soak[0].rss[name], r.soak[len(r.soak)-1].rss[name]
	growth := float64(last-first) / float64(max(1, first))
	verdict := yes(growth <= 0.05)
	if r.o.soak < 10*time.Minute {
		verdict = "not checked at 10 min"
	}
	w("| memory flat across a 10-minute run (one-hop EPP RSS grows ≤ 5%% over the soak) | %.0f → %.0f MB (%+.1f%%) over %s | %s |\n", mb(first), mb(last), 100*growth, r.o.soak, verdict)
}
