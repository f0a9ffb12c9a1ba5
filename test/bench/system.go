package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/semantic-epp/semantic-epp/test/sandbox"
)

// RepoPaths resolves the repository root and returns it with a function that
// makes a path relative to it absolute (absolute paths stay as they are).
func RepoPaths(repo string) (string, func(string) string, error) {
	root, err := filepath.Abs(repo)
	if err != nil {
		return "", nil, fmt.Errorf("repository root: %w", err)
	}
	return root, func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}, nil
}

// Processes is what a benchmark command started: the sandbox, the two-hop
// router and further stop functions (gateways), for Close.
type Processes struct {
	Sandbox *sandbox.Sandbox
	Router  *exec.Cmd
	stops   []func()
}

// OnClose adds f to what Close runs; Close runs them in the reverse order.
func (p *Processes) OnClose(f func()) { p.stops = append(p.stops, f) }

// Close runs the OnClose functions, then stops the router and the sandbox.
func (p *Processes) Close() {
	for i := len(p.stops) - 1; i >= 0; i-- {
		p.stops[i]()
	}
	StopRouter(p.Router)
	if p.Sandbox != nil {
		p.Sandbox.Stop()
	}
}

// Workspace is RepoPaths that also creates the results folder out
// (relative to the root unless absolute).
func Workspace(repo, out string) (string, func(string) string, error) {
	root, abs, err := RepoPaths(repo)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(abs(out), 0o755); err != nil {
		return "", nil, fmt.Errorf("results folder: %w", err)
	}
	return root, abs, nil
}

// StopRouter ends a router started by StartRouter and waits for it.
func StopRouter(cmd *exec.Cmd) {
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
}

// StartRouter starts bin/semantic-router (the two-hop first hop) with an
// EndpointPickerConfig, logging to logDir/semantic-router.log, and waits
// until its gRPC port accepts connections. The process dies with the caller.
func StartRouter(ctx context.Context, root, config, logDir string) (*exec.Cmd, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("router port: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	logf, err := os.Create(filepath.Join(logDir, "semantic-router.log"))
	if err != nil {
		return nil, "", fmt.Errorf("router log: %w", err)
	}
	cmd := exec.Command(filepath.Join(root, "bin", "semantic-router"), "--config-file", filepath.Join(root, config), "--listen", addr)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("starting bin/semantic-router (make bench-bin or bench-saturation-bin): %w", err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return cmd, "", fmt.Errorf("router client: %w", err)
	}
	defer func() { _ = conn.Close() }()
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conn.Connect()
	for st := conn.GetState(); st != connectivity.Ready; st = conn.GetState() {
		if !conn.WaitForStateChange(wctx, st) {
			return cmd, "", fmt.Errorf("semantic-router not ready at %s (log %s): %w", addr, logf.Name(), wctx.Err())
		}
		if st == connectivity.TransientFailure {
			conn.Connect()
		}
	}
	return cmd, addr, nil
}
