package gateway

import (
	"context"
	"fmt"
	"net"
	"time"
)

// ServeLoopback starts a gateway with cfg on a loopback port,
// waits until its processors are reachable and returns its URL and a
// function that stops it.
func ServeLoopback(ctx context.Context, cfg Config) (string, func(), error) {
	gw, err := New(cfg)
	if err != nil {
		return "", nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = gw.WaitReady(wctx)
	cancel()
	if err != nil {
		_ = gw.Close()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = gw.Close()
		return "", nil, fmt.Errorf("gateway listener: %w", err)
	}
	gctx, gcancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = gw.Serve(gctx, ln) }()
	return "http://" + ln.Addr().String(), func() { gcancel(); <-done; _ = gw.Close() }, nil
}
