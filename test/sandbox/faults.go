package sandbox

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Fault injection for the e2e tests (issue 12): each helper does to one
// process what a crash or a restart in a cluster does, nothing more.

// Kill ends the simulator with SIGKILL, as a crashed model server: open
// connections are reset, its readiness then fails and the prober marks the
// Pod unready. The Pod object stays, as it would until the kubelet restarts
// the container.
func (p *SimPod) Kill() error { return signalSim(p, syscall.SIGKILL) }

// RestartAPIServer stops the kube-apiserver (SIGTERM, SIGKILL after 15 s), keeps it down for
// down, and starts it again with the same binary, flags, certificates and
// etcd, so clients keep their kubeconfig; it returns once the API answers.
// Stop ends the new process.
func (s *Sandbox) RestartAPIServer(ctx context.Context, down time.Duration) error {
	pids := s.apiServerPIDs()
	if s.apiServer != nil && s.apiServer.Process != nil {
		pids = []int{s.apiServer.Process.Pid}
	}
	if len(pids) != 1 {
		return fmt.Errorf("want one kube-apiserver process of this sandbox, found %v", pids)
	}
	pid := pids[0]
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return fmt.Errorf("reading the kube-apiserver command line: %w", err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	// kube-apiserver drains long-running requests (the EPP's watches) for
	// up to a minute on SIGTERM; past 15 s it is killed, as a kubelet does
	// after the grace period.
	if err := waitGone(ctx, pid, 15*time.Second); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if err := waitGone(ctx, pid, 10*time.Second); err != nil {
			return err
		}
	}
	if s.apiServer != nil {
		_ = s.apiServer.Wait()
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logFile, err := os.OpenFile(s.opts.LogDir+"/kube-apiserver-restarted.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("kube-apiserver log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	s.apiServer = cmd
	if err := s.net.RecordProcesses(append(childProcesses("etcd"), cmd.Process.Pid)); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var pods corev1.PodList
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.Client.List(lctx, &pods)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not answering 60s after the restart (log %s): %w", logFile.Name(), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// apiServerPIDs are the kube-apiserver children of this process that serve
// this sandbox's port (one process may run several sandboxes).
func (s *Sandbox) apiServerPIDs() []int {
	u, err := url.Parse(s.Env.Config.Host)
	if err != nil {
		return nil
	}
	var out []int
	for _, pid := range childProcesses("kube-apiserver") {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(raw), "--secure-port="+u.Port()+"\x00") {
			out = append(out, pid)
		}
	}
	return out
}

func waitGone(ctx context.Context, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		// A zombie still has /proc/<pid>; its state is Z.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still running after %s", pid, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopRestartedAPIServer ends a kube-apiserver started by RestartAPIServer.
func (s *Sandbox) stopRestartedAPIServer() {
	if s.apiServer == nil || s.apiServer.Process == nil {
		return
	}
	_ = s.apiServer.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.apiServer.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.apiServer.Process.Kill()
		<-done
	}
	s.apiServer = nil
}
