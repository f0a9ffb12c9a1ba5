package sandbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// EPP is the Endpoint Picker running as its own process, watching the
// InferencePool through the API server like it would in a cluster.
type EPP struct {
	GRPCPort, HealthPort, MetricsPort int

	bin, kubeconfig, configFile, logPath string
	poolName, poolNamespace              string
	extraArgs                            []string
	cmd                                  *exec.Cmd
	exited                               chan struct{}
}

// PID is the EPP process id, 0 when not running.
func (e *EPP) PID() int {
	if e.cmd == nil || e.cmd.Process == nil {
		return 0
	}
	return e.cmd.Process.Pid
}

// Address is the ext_proc address the gateway connects to.
func (e *EPP) Address() string { return "127.0.0.1:" + strconv.Itoa(e.GRPCPort) }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start launches the EPP and waits until its health service says the pool
// has synced.
func (e *EPP) Start(ctx context.Context) error {
	args := []string{
		"--pool-name", e.poolName, "--pool-namespace", e.poolNamespace,
		"--config-file", e.configFile,
		"--grpc-port", strconv.Itoa(e.GRPCPort),
		"--grpc-health-port", strconv.Itoa(e.HealthPort),
		"--metrics-port", strconv.Itoa(e.MetricsPort),
	}
	args = append(args, e.extraArgs...)
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logFile, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("EPP log file: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting %s: %w", e.bin, err)
	}
	e.cmd = cmd
	e.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(e.exited) }()
	if err := e.waitServing(ctx, 90*time.Second); err != nil {
		_ = e.Stop()
		return fmt.Errorf("EPP did not become ready (log: %s): %w", e.logPath, err)
	}
	return nil
}

// waitServing polls the EPP's gRPC health service.
func (e *EPP) waitServing(ctx context.Context, timeout time.Duration) error {
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(e.HealthPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("health client: %w", err)
	}
	defer func() { _ = conn.Close() }()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-e.exited:
			return fmt.Errorf("EPP exited: %v", e.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("waiting for EPP: %w", ctx.Err())
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("health status %s", resp.GetStatus())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not serving after %s: %w", timeout, last)
}

// Stop sends SIGTERM and waits (SIGKILL after 10 s).
func (e *EPP) Stop() error {
	if e.cmd == nil || e.cmd.Process == nil {
		return nil
	}
	select {
	case <-e.exited:
		return nil
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
	return nil
}

// Restart stops the EPP and starts it again on the same ports.
func (e *EPP) Restart(ctx context.Context) error {
	if err := e.Stop(); err != nil {
		return err
	}
	return e.Start(ctx)
}
