// Command bench-saturation runs the saturation benchmark of issue 11
// (make bench-saturation): the sandbox with model-server pools of unequal
// capacity (one slow phi4-mini pod, two faster llama3-8b pods), a skewed
// workload of streaming `auto` requests (most classify to math, whose first
// choice is phi4-mini) at rising offered load, and three configurations
// measured side by side in one run, alternating within every load step:
// the capacity-blind one-hop selector, the load-aware one-hop selector and
// the two-hop system (test/bench/cmd/semantic-router in front of the plain EPP). It
// writes raw results, a plot, a report and summary.json to -out and a
// section of docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/semantic-epp/semantic-epp/test/bench"
	"github.com/semantic-epp/semantic-epp/test/gateway"
	"github.com/semantic-epp/semantic-epp/test/sandbox"
)

// Configuration names, in report order.
const (
	Blind     = "blind-one-hop"
	LoadAware = "load-aware-one-hop"
	TwoHop    = "two-hop"
)

var configs = []string{Blind, LoadAware, TwoHop}

type options struct {
	repo, data, out, doc     string
	epp, note                string
	blindConfig, awareConfig string
	rates                    []float64
	step, slo                time.Duration
	mathShare                float64
	maxTokens, pool          int
	slowArgs, fastArgs       string
	slowReplicas, fastReps   int
	commonArgs               string
}

func main() {
	var o options
	var rates string
	flag.StringVar(&o.repo, "repo", ".", "repository root")
	flag.StringVar(&o.data, "data", "../shared/data/domain/dev.jsonl", "labelled JSONL file whose texts make the prompts (relative to -repo)")
	flag.StringVar(&o.out, "out", "docs/results/bench-saturation", "results folder (relative to -repo)")
	flag.StringVar(&o.doc, "doc", "docs/benchmarks.md", "document whose saturation section is rewritten; empty: none")
	flag.StringVar(&o.epp, "epp", "bin/epp", "EPP binary of every configuration (relative to -repo)")
	flag.StringVar(&o.note, "note", "", "a sentence about this run put in the report (e.g. where the EPP binary came from)")
	flag.StringVar(&o.blindConfig, "blind-config", "test/bench/config/saturation-blind.yaml", "capacity-blind EndpointPickerConfig (also the two-hop router's)")
	flag.StringVar(&o.awareConfig, "load-aware-config", "config/semantic-epp-load-aware.yaml", "load-aware EndpointPickerConfig; skipped with a message when missing or when the EPP does not start with it")
	flag.StringVar(&rates, "rates", "4,8,12,16,20", "offered loads (requests/s)")
	flag.DurationVar(&o.step, "step", 10*time.Second, "duration of each configuration's load step")
	flag.DurationVar(&o.slo, "slo", time.Second, "time-to-first-token SLO of the goodput")
	flag.Float64Var(&o.mathShare, "math-share", 0.8, "share of requests whose first-choice model is phi4-mini")
	flag.IntVar(&o.maxTokens, "max-tokens", 16, "max_tokens of every request")
	flag.IntVar(&o.pool, "prompts", 200, "distinct prompts calibrated and sampled from")
	flag.StringVar(&o.commonArgs, "sim-args", "--mode echo --max-model-len 8192 --inter-token-latency 5ms", "simulator flags of every pod")
	flag.StringVar(&o.slowArgs, "phi-args", "--max-num-seqs 4 --time-to-first-token 250ms", "extra simulator flags of the phi4-mini pods (the scarce pool)")
	flag.StringVar(&o.fastArgs, "llama-args", "--max-num-seqs 8 --time-to-first-token 100ms", "extra simulator flags of the llama3-8b pods")
	flag.IntVar(&o.slowReplicas, "phi-replicas", 1, "phi4-mini pods")
	flag.IntVar(&o.fastReps, "llama-replicas", 2, "llama3-8b pods")
	flag.Parse()
	var err error
	if o.rates, err = bench.ParseFloats(rates); err != nil {
		fmt.Fprintln(os.Stderr, "bench-saturation:", err)
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel)))
	if err := run(o); err != nil {
		bench.Fail("bench-saturation", err)
	}
}

// system is everything the benchmark started.
type system struct {
	bench.Processes
	urls    map[string]string // configuration -> gateway URL
	skipped map[string]string // configuration -> why it was not run
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, abs, err := bench.Workspace(o.repo, o.out)
	if err != nil {
		return err
	}
	texts, err := bench.LoadLabelled(abs(o.data))
	if err != nil {
		return err
	}
	started := time.Now().UTC()
	fmt.Println("starting the sandbox (1 slow phi4-mini pod, 2 llama3-8b pods), the EPPs and the semantic router ...")
	sys, err := startSystem(ctx, root, o, abs)
	if sys != nil {
		defer sys.Close()
	}
	if err != nil {
		return err
	}
	r := &runner{o: o, sys: sys, client: bench.NewClient(), started: started}
	if err := r.calibrate(ctx, texts); err != nil {
		return err
	}
	if err := r.sweep(ctx); err != nil {
		return err
	}
	return r.write(abs(o.out), o.doc, abs)
}

// eppArgs: plain-HTTP metrics without Kubernetes auth, as in make bench.
var eppArgs = []string{"--metrics-endpoint-auth=false"}

func startSystem(ctx context.Context, root string, o options, abs func(string) string) (*system, error) {
	sys := &system{urls: map[string]string{}, skipped: map[string]string{}}
	sb, err := sandbox.Start(ctx, sandbox.Options{
		RepoRoot: root, EPPBinary: o.epp, EPPConfig: o.blindConfig, Out: os.Stdout, EPPArgs: eppArgs,
		SimArgs:       strings.Fields(o.commonArgs),
		ModelReplicas: map[string]int{"phi4-mini": o.slowReplicas, "llama3-8b": o.fastReps},
		ModelSimArgs:  map[string][]string{"phi4-mini": strings.Fields(o.slowArgs), "llama3-8b": strings.Fields(o.fastArgs)},
	})
	if err != nil {
		return nil, err
	}
	sys.Sandbox = sb
	plain, err := sb.StartExtraEPP(ctx, "test/bench/config/plain.yaml", "epp-plain.log", eppArgs)
	if err != nil {
		return sys, fmt.Errorf("plain EPP: %w", err)
	}
	extProc := map[string]string{Blind: sb.EPP.Address(), TwoHop: plain.Address()}
	if _, err := os.Stat(abs(o.awareConfig)); err != nil {
		sys.skipped[LoadAware] = fmt.Sprintf("%s not found (the load-aware selector's config, issue 11)", o.awareConfig)
	} else if aware, err := sb.StartExtraEPP(ctx, o.awareConfig, "epp-load-aware.log", eppArgs); err != nil {
		sys.skipped[LoadAware] = fmt.Sprintf("the EPP does not start with %s: %v (log %s)", o.awareConfig, err,
			filepath.Join(sb.LogDir(), "epp-load-aware.log"))
	} else {
		extProc[LoadAware] = aware.Address()
	}
	if why, ok := sys.skipped[LoadAware]; ok {
		fmt.Printf("SKIPPING %s: %s\n", LoadAware, why)
	}
	cmd, routerAddr, err := bench.StartRouter(ctx, root, o.blindConfig, sb.LogDir())
	sys.Router = cmd
	if err != nil {
		return sys, err
	}
	for _, name := range configs {
		addr, ok := extProc[name]
		if !ok {
			continue
		}
		cfg := gateway.Config{ExtProcAddress: addr, ExtProcTLS: true}
		if name == TwoHop {
			cfg.FirstHopAddress = routerAddr
		}
		url, stopGW, err := gateway.ServeLoopback(ctx, cfg)
		if err != nil {
			return sys, fmt.Errorf("%s gateway: %w", name, err)
		}
		sys.OnClose(stopGW)
		sys.urls[name] = url
	}
	return sys, nil
}
