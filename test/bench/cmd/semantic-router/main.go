// Command semantic-router is the first hop of the two-hop architecture that
// semantic-epp replaces, built only for benchmarks (make bench): an ext_proc
// server that, like the vLLM semantic router in front of an EPP, classifies
// the prompt of an `auto` request, sets x-selected-model and rewrites the
// body's model. It reads the semantic-model-selector plugin of an
// EndpointPickerConfig, so it classifies exactly as the one-hop EPP does.
// The gateway calls it with the request body BUFFERED, in plaintext.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	config := flag.String("config-file", "config/semantic-epp.yaml", "EndpointPickerConfig whose semantic-model-selector plugin is used")
	listen := flag.String("listen", "127.0.0.1:9010", "ext_proc gRPC listen address")
	flag.Parse()
	ctrl.SetLogger(zap.New())
	if err := run(*config, *listen); err != nil {
		fmt.Fprintln(os.Stderr, "semantic-router:", err)
		os.Exit(1)
	}
}

func run(config, listen string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sel, err := selectorFromConfig(ctx, config)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	srv := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(srv, &router{sel: sel})
	go func() { <-ctx.Done(); srv.GracefulStop() }()
	ctrl.Log.Info("semantic-router serving", "address", ln.Addr().String(), "config", config)
	if err := srv.Serve(ln); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
