package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Gateway is an http.Handler that runs every request through an ext_proc
// stream and forwards it to the endpoint the processor picked.
type Gateway struct {
	cfg    Config
	conn   *grpc.ClientConn
	client extprocv3.ExternalProcessorClient
	// first hop (Config.FirstHopAddress), nil when unset
	firstConn   *grpc.ClientConn
	firstClient extprocv3.ExternalProcessorClient
	transport   *http.Transport
	dialer      *net.Dialer
}

// New returns a Gateway for cfg. The ext_proc connection is made lazily, so
// New succeeds while the processor is still starting.
func New(cfg Config) (*Gateway, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if c.ExtProcTLS {
		// Like envoy.yaml's ext_proc cluster: TLS with an empty
		// validation_context, i.e. the EPP's self-signed certificate is
		// accepted without verification. Test and sandbox use only.
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // see comment
	}
	conn, err := grpc.NewClient(c.ExtProcAddress, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("gateway: ext_proc client for %s: %w", c.ExtProcAddress, err)
	}
	dialer := &net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}
	g := &Gateway{
		cfg:    c,
		conn:   conn,
		client: extprocv3.NewExternalProcessorClient(conn),
		dialer: dialer,
		transport: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	if c.FirstHopAddress != "" {
		fc, err := grpc.NewClient(c.FirstHopAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("gateway: ext_proc client for the first hop %s: %w", c.FirstHopAddress, err)
		}
		g.firstConn, g.firstClient = fc, extprocv3.NewExternalProcessorClient(fc)
	}
	return g, nil
}

// Close releases the ext_proc connection and idle upstream connections.
func (g *Gateway) Close() error {
	g.transport.CloseIdleConnections()
	if g.firstConn != nil {
		_ = g.firstConn.Close()
	}
	if err := g.conn.Close(); err != nil {
		return fmt.Errorf("gateway: closing ext_proc connection: %w", err)
	}
	return nil
}

// WaitReady connects to the processor and waits until the connection is
// ready (or ctx ends). Requests made before that fail like Envoy's do when
// its ext_proc cluster has no healthy host.
func (g *Gateway) WaitReady(ctx context.Context) error {
	g.conn.Connect()
	for {
		st := g.conn.GetState()
		if st == connectivity.Ready {
			return nil
		}
		if !g.conn.WaitForStateChange(ctx, st) {
			return fmt.Errorf("gateway: ext_proc connection to %s not ready (state %s): %w", g.cfg.ExtProcAddress, st, ctx.Err())
		}
	}
}

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully
// (in-flight requests get up to 5 seconds).
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	select {
	case err := <-errCh:
		return fmt.Errorf("gateway: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	if err := <-errCh; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gateway: serve: %w", err)
	}
	return nil
}

// ServeHTTP processes one request like Envoy's ext_proc filter followed by
// the router.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ex := newExchange(g, w, r)
	defer ex.close()
	ex.run()
	flags, exErr := ex.outcome()
	entry := AccessLogEntry{
		Method: r.Method, Path: r.URL.RequestURI(), Status: ex.status, Upstream: ex.upstream,
		Flags: flags, Duration: time.Since(start), Err: exErr,
	}
	entry.ExtProc, entry.FirstHop = ex.extProcTimes()
	entry.UpstreamHeader, entry.UpstreamBody = ex.upHeader, ex.upBody.bytes()
	logger := log.FromContext(r.Context()).WithName("gateway")
	if exErr != nil {
		logger.Info("request failed", "method", entry.Method, "path", entry.Path, "status", entry.Status,
			"upstream", entry.Upstream, "flags", entry.Flags, "error", exErr.Error())
	} else {
		logger.V(1).Info("request", "method", entry.Method, "path", entry.Path, "status", entry.Status,
			"upstream", entry.Upstream, "duration", entry.Duration)
	}
	if g.cfg.AccessLog != nil {
		g.cfg.AccessLog(entry)
	}
	if ex.abort {
		// Envoy resets the downstream stream when processing fails after
		// the response headers went out; net/http does the same for this.
		panic(http.ErrAbortHandler)
	}
}
