// Command bench runs the system benchmark of issue 7 (make bench): it
// starts the sandbox (test/sandbox) with the one-hop semantic EPP, a second
// EPP with the plain upstream config, a third with the linear classifier,
// and test/bench/cmd/semantic-router; puts one Envoy-like gateway (test/gateway) in
// front of each configuration; and measures them side by side, alternating
// configurations within every round so that ratios are paired. It writes
// raw results to -out and the system section of docs/benchmarks.md.
//
// -configs runs a subset (and one-hop-cpu, a second one-hop EPP with
// -cpu-selector-config beside a GPU -selector-config): such a run writes its
// raw results, summary.json and a short summary.md, not the document's
// section. test/bench/gpu/system-run.sh runs it so on the GPU machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
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

type options struct {
	repo, data, out, doc string
	sizes                []int
	rounds, batch        int
	rates                []float64
	step, soak           time.Duration
	selectorConfig       string
	cpuConfig            string
	soakRate             float64
	configs              []string
	network              string
}

// full reports whether the run has the default configurations, the ones
// the document's section compares.
func (o options) full() bool { return slices.Equal(o.configs, bench.Configs) }

func main() {
	var o options
	var sizes, rates, configs string
	flag.StringVar(&o.repo, "repo", ".", "repository root")
	flag.StringVar(&o.data, "data", "../shared/data/domain/dev.jsonl", "JSONL file whose texts make the prompts (relative to -repo)")
	flag.StringVar(&o.out, "out", "docs/results/bench-cpu", "raw results folder (relative to -repo)")
	flag.StringVar(&o.doc, "doc", "docs/benchmarks.md", "document whose system section is rewritten; empty: none")
	flag.StringVar(&sizes, "sizes", "16,128,2048", "prompt sizes in tokens")
	flag.IntVar(&o.rounds, "rounds", 16, "A/B rounds per scenario")
	flag.IntVar(&o.batch, "batch", 20, "requests per configuration per round (a quarter at 2,048 tokens)")
	flag.StringVar(&rates, "rates", "5,10,20,40,80,160", "offered loads (requests/s) of the sweep")
	flag.DurationVar(&o.step, "step", 5*time.Second, "duration of each sweep step (0: no sweep)")
	flag.DurationVar(&o.soak, "soak", 5*time.Minute, "duration of the memory soak of the one-hop EPP (0: none)")
	flag.StringVar(&o.selectorConfig, "selector-config", "config/semantic-epp.yaml",
		"EndpointPickerConfig of the one-hop EPP and the two-hop router (relative to -repo), e.g. a CUDA classifier")
	flag.StringVar(&o.cpuConfig, "cpu-selector-config", "config/semantic-epp.yaml",
		"EndpointPickerConfig of one-hop-cpu (relative to -repo): the CPU baseline beside a GPU -selector-config")
	flag.Float64Var(&o.soakRate, "soak-rate", 20, "offered load of the soak (requests/s)")
	flag.StringVar(&configs, "configs", strings.Join(bench.Configs, ","),
		"configurations to run, of "+strings.Join(bench.KnownConfigs, ", ")+"; other than the default set: no document section, summary.md and summary.json only")
	flag.StringVar(&o.network, "net", sandbox.NetworkNetns,
		"pod addresses: netns (network namespaces, root), loopback (loopback addresses, forwarded ports), auto (netns if possible)")
	flag.Parse()
	var err error
	if o.sizes, err = bench.ParseInts(sizes); err == nil {
		o.rates, err = bench.ParseFloats(rates)
	}
	if err == nil {
		o.configs, err = bench.ParseConfigs(configs)
	}
	if err == nil && o.soak > 0 && !slices.Contains(o.configs, bench.OneHop) {
		err = fmt.Errorf("the memory soak runs on one-hop: add it to -configs or set -soak 0")
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
	network string            // the sandbox's network mode
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
	fmt.Printf("starting the sandbox and %s ...\n", strings.Join(o.configs, ", "))
	sys, err := startSystem(ctx, root, o)
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

// startSystem starts the sandbox (whose EPP is one-hop's) and what the
// configurations of o need besides: the plain EPP (plain, and two-hop's
// second hop), the linear EPP, the one-hop-cpu EPP and the router.
func startSystem(ctx context.Context, root string, o options) (*system, error) {
	sys := &system{targets: map[string]*bench.Target{}, metrics: map[string]string{}}
	has := func(c string) bool { return slices.Contains(o.configs, c) }
	// The simulators' default context (1,024 tokens) would reject the
	// 2,048-token prompts.
	sb, err := sandbox.Start(ctx, sandbox.Options{
		RepoRoot: root, EPPConfig: o.selectorConfig, Out: os.Stdout,
		SimArgs: []string{"--mode", "echo", "--max-num-seqs", "8", "--max-model-len", "32768"},
		EPPArgs: eppArgs, Network: o.network,
	})
	if err != nil {
		return nil, err
	}
	sys.Sandbox, sys.network = sb, sb.NetworkMode()
	var plain, linear, cpu *sandbox.EPP
	for _, e := range []struct {
		want              bool
		dst               **sandbox.EPP
		name, config, log string
	}{
		{has(bench.Plain) || has(bench.TwoHop), &plain, "plain", "test/bench/config/plain.yaml", "epp-plain.log"},
		{has(bench.OneHopLinear), &linear, "linear", "test/bench/config/linear.yaml", "epp-linear.log"},
		{has(bench.OneHopCPU), &cpu, bench.OneHopCPU, o.cpuConfig, "epp-cpu.log"},
	} {
		if !e.want {
			continue
		}
		if *e.dst, err = sb.StartExtraEPP(ctx, e.config, e.log, eppArgs); err != nil {
			return sys, fmt.Errorf("%s EPP: %w", e.name, err)
		}
	}
	metricsURL := func(e *sandbox.EPP) string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", e.MetricsPort) }
	type target struct {
		extProc, first string
		pids           []int
	}
	targets := map[string]target{}
	if has(bench.OneHop) {
		sys.metrics[bench.OneHop] = metricsURL(sb.EPP)
		targets[bench.OneHop] = target{sb.EPP.Address(), "", []int{sb.EPP.PID()}}
	}
	if plain != nil && has(bench.Plain) {
		targets[bench.Plain] = target{plain.Address(), "", []int{plain.PID()}}
	}
	if linear != nil {
		sys.metrics[bench.OneHopLinear] = metricsURL(linear)
		targets[bench.OneHopLinear] = target{linear.Address(), "", []int{linear.PID()}}
	}
	if cpu != nil {
		sys.metrics[bench.OneHopCPU] = metricsURL(cpu)
		targets[bench.OneHopCPU] = target{cpu.Address(), "", []int{cpu.PID()}}
	}
	if has(bench.TwoHop) {
		routerAddr, err := sys.startRouter(ctx, root, o.selectorConfig, sb.LogDir())
		if err != nil {
			return sys, err
		}
		targets[bench.TwoHop] = target{plain.Address(), routerAddr, []int{sys.Router.Process.Pid, plain.PID()}}
	}
	for _, name := range o.configs {
		t := targets[name]
		rec := &bench.Recorder{}
		url, stopGW, err := gateway.ServeLoopback(ctx, gateway.Config{ExtProcAddress: t.extProc, ExtProcTLS: true, FirstHopAddress: t.first, AccessLog: rec.Log})
		if err != nil {
			return sys, err
		}
		sys.OnClose(stopGW)
		sys.targets[name] = &bench.Target{Name: name, URL: url, Rec: rec, PIDs: t.pids}
	}
	return sys, nil
}

// startRouter starts bin/semantic-router with the one-hop EPP's config.
func (s *system) startRouter(ctx context.Context, root, config, logDir string) (string, error) {
	cmd, addr, err := bench.StartRouter(ctx, root, config, logDir)
	s.Router = cmd
	return addr, err
}
