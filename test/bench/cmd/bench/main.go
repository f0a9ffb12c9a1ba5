// Command bench runs the system benchmark of issue 7 (make bench): it
// starts the sandbox (test/sandbox) with the one-hop semantic EPP, a second
// EPP with the plain upstream config, a third with the linear classifier,
// and test/bench/cmd/semantic-router; puts one Envoy-like gateway (test/gateway) in
// front of each configuration; and measures them side by side, alternating
// configurations within every round so that ratios are paired. It writes
// raw results to -out and the system section of docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/semantic-epp/semantic-epp/test/bench"
	"github.com/semantic-epp/semantic-epp/test/gateway"
	"github.com/semantic-epp/semantic-epp/test/sandbox"
)

type options struct {
	repo, data, out, doc string
	sizes                []int
	rounds, batch        int
	rates                []float64
	step, soak           time.Duration
	selectorConfig       string
	soakRate             float64
}

func main() {
	var o options
	var sizes, rates string
	flag.StringVar(&o.repo, "repo", ".", "repository root")
	flag.StringVar(&o.data, "data", "../shared/data/domain/dev.jsonl", "JSONL file whose texts make the prompts (relative to -repo)")
	flag.StringVar(&o.out, "out", "docs/results/bench-cpu", "raw results folder (relative to -repo)")
	flag.StringVar(&o.doc, "doc", "docs/benchmarks.md", "document whose system section is rewritten; empty: none")
	flag.StringVar(&sizes, "sizes", "16,128,2048", "prompt sizes in tokens")
	flag.IntVar(&o.rounds, "rounds", 16, "A/B rounds per scenario")
	flag.IntVar(&o.batch, "batch", 20, "requests per configuration per round (a quarter at 2,048 tokens)")
	flag.StringVar(&rates, "rates", "5,10,20,40,80,160", "offered loads (requests/s) of the sweep")
	flag.DurationVar(&o.step, "step", 5*time.Second, "duration of each sweep step")
	flag.DurationVar(&o.soak, "soak", 5*time.Minute, "duration of the memory soak of the one-hop EPP (0: none)")
	flag.StringVar(&o.selectorConfig, "selector-config", "config/semantic-epp.yaml",
		"EndpointPickerConfig of the one-hop EPP and the two-hop router (relative to -repo), e.g. a CUDA classifier")
	flag.Float64Var(&o.soakRate, "soak-rate", 20, "offered load of the soak (requests/s)")
	flag.Parse()
	var err error
	if o.sizes, err = bench.ParseInts(sizes); err == nil {
		o.rates, err = bench.ParseFloats(rates)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel)))
	if err := run(o); err != nil {
		bench.Fail("bench", err)
	}
}

// system is everything the benchmark started.
type system struct {
	bench.Processes
	targets map[string]*bench.Target
	metrics map[string]string // configuration -> EPP metrics URL (selector configurations)
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, abs, err := bench.Workspace(o.repo, o.out)
	if err != nil {
		return err
	}
	texts, err := bench.LoadTexts(abs(o.data))
	if err != nil {
		return err
	}
	started := time.Now().UTC()
	fmt.Println("starting the sandbox, three EPPs and the semantic router ...")
	sys, err := startSystem(ctx, root, o.selectorConfig)
	if sys != nil {
		defer sys.Close()
	}
	if err != nil {
		return err
	}
	r := &runner{o: o, sys: sys, client: bench.NewClient(), texts: texts, started: started}
	if err := r.all(ctx); err != nil {
		return err
	}
	return r.write(abs(o.out), o.doc, abs)
}

// eppArgs: the benchmark reads the selector's classifier histogram from
// the EPPs' metrics ports, in plain HTTP without Kubernetes auth.
var eppArgs = []string{"--metrics-endpoint-auth=false"}

func startSystem(ctx context.Context, root, selectorConfig string) (*system, error) {
	sys := &system{targets: map[string]*bench.Target{}, metrics: map[string]string{}}
	// The simulators' default context (1,024 tokens) would reject the
	// 2,048-token prompts.
	sb, err := sandbox.Start(ctx, sandbox.Options{
		RepoRoot: root, EPPConfig: selectorConfig, Out: os.Stdout,
		SimArgs: []string{"--mode", "echo", "--max-num-seqs", "8", "--max-model-len", "32768"},
		EPPArgs: eppArgs,
	})
	if err != nil {
		return nil, err
	}
	sys.Sandbox = sb
	plain, err := sb.StartExtraEPP(ctx, "test/bench/config/plain.yaml", "epp-plain.log", eppArgs)
	if err != nil {
		return sys, fmt.Errorf("plain EPP: %w", err)
	}
	linear, err := sb.StartExtraEPP(ctx, "test/bench/config/linear.yaml", "epp-linear.log", eppArgs)
	if err != nil {
		return sys, fmt.Errorf("linear EPP: %w", err)
	}
	metricsURL := func(e *sandbox.EPP) string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", e.MetricsPort) }
	sys.metrics[bench.OneHop], sys.metrics[bench.OneHopLinear] = metricsURL(sb.EPP), metricsURL(linear)
	routerAddr, err := sys.startRouter(ctx, root, selectorConfig, sb.LogDir())
	if err != nil {
		return sys, err
	}
	for _, t := range []struct {
		name, extProc, first string
		pids                 []int
	}{
		{bench.Plain, plain.Address(), "", []int{plain.PID()}},
		{bench.OneHop, sb.EPP.Address(), "", []int{sb.EPP.PID()}},
		{bench.OneHopLinear, linear.Address(), "", []int{linear.PID()}},
		{bench.TwoHop, plain.Address(), routerAddr, []int{sys.Router.Process.Pid, plain.PID()}},
	} {
		rec := &bench.Recorder{}
		url, stopGW, err := gateway.ServeLoopback(ctx, gateway.Config{ExtProcAddress: t.extProc, ExtProcTLS: true, FirstHopAddress: t.first, AccessLog: rec.Log})
		if err != nil {
			return sys, err
		}
		sys.OnClose(stopGW)
		sys.targets[t.name] = &bench.Target{Name: t.name, URL: url, Rec: rec, PIDs: t.pids}
	}
	return sys, nil
}

// startRouter starts bin/semantic-router with the one-hop EPP's config.
func (s *system) startRouter(ctx context.Context, root, config, logDir string) (string, error) {
	cmd, addr, err := bench.StartRouter(ctx, root, config, logDir)
	s.Router = cmd
	return addr, err
}
