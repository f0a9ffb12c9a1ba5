// Command sandbox runs the whole semantic-epp system on this machine in the
// foreground (`make run`): kube-apiserver + etcd, the manifests of deploy/,
// simulated model-server pods in their own network namespaces, bin/epp and
// the Envoy-like gateway. It prints the gateway URL and example requests and
// shuts everything down on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/semantic-epp/semantic-epp/test/sandbox"
)

func main() {
	var opts sandbox.Options
	flag.StringVar(&opts.RepoRoot, "repo", ".", "repository root")
	flag.StringVar(&opts.GatewayListen, "listen", "127.0.0.1:8081", "gateway listen address")
	flag.StringVar(&opts.EPPConfig, "config", "config/semantic-epp.yaml", "EndpointPickerConfig for the EPP")
	verbose := flag.Bool("v", false, "log every gateway request")
	simArgs := flag.String("sim-args", "", `extra simulator flags, e.g. "--time-to-first-token 200ms --inter-token-latency 50ms"`)
	flag.Parse()
	if extra := strings.Fields(*simArgs); len(extra) > 0 {
		opts.SimArgs = append([]string{"--mode", "echo", "--max-num-seqs", "8"}, extra...)
	}
	level := zapcore.InfoLevel
	if *verbose {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.Level(level)))
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		if errors.Is(err, sandbox.ErrNoNetns) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(opts sandbox.Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	fmt.Println("starting kube-apiserver, etcd, 4 model-server pods, the EPP and the gateway ...")
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("\nshutting down ...")
		sb.Stop()
		fmt.Println("stopped: no processes or network namespaces left")
	}()
	fmt.Printf("\nready in %s. Logs, kubeconfig: %s\n\npods:\n", time.Since(start).Round(time.Second), sb.LogDir())
	for _, p := range sb.Pods() {
		fmt.Printf("  %-18s model=%-10s %s\n", p.Name, p.Model, p.Endpoint())
	}
	u := sb.GatewayURL
	fmt.Printf("\ngateway: %s\n\ntry:\n", u)
	for _, ex := range []struct{ model, prompt string }{
		{"llama3-8b", "Hello"},
		{"auto", "Linux is said to be an open source kernel because"},
		{"phi4-mini", "Hello"},
		{"auto", "2+2 is"},
	} {
		fmt.Printf("  curl -s %s/v1/completions -H 'Content-Type: application/json' -d '{\"model\":\"%s\",\"prompt\":\"%s\",\"max_tokens\":10}'\n", u, ex.model, ex.prompt)
	}
	fmt.Println("\nCtrl-C stops everything.")
	<-ctx.Done()
	return nil
}
