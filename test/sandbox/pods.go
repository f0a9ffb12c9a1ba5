package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// SimPod is one model-server replica: a Pod object in the API server and a
// simulator process in the pod's own network namespace. A prober plays the
// kubelet: it follows the process's readiness endpoint and writes the Pod's
// phase, IP and Ready condition through the status subresource.
type SimPod struct {
	Name      string
	Namespace string
	Model     string // the semantic-epp.io/model label
	IP        string
	Port      int

	index     int
	readyPath string
	logPath   string
	cmd       *exec.Cmd
	exited    chan struct{}
	cancel    context.CancelFunc
	probeWG   sync.WaitGroup

	mu    sync.Mutex
	ready bool
}

// Endpoint is the pod's ip:port, what the gateway is told to route to.
func (p *SimPod) Endpoint() string { return p.IP + ":" + strconv.Itoa(p.Port) }

// Ready reports the last readiness written to the API server.
func (p *SimPod) Ready() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.ready }

// podFromDeployment builds replica i of a Deployment as a Pod.
func podFromDeployment(d *appsv1.Deployment, i int, namespace string) *corev1.Pod {
	labels := map[string]string{}
	for k, v := range d.Spec.Template.Labels {
		labels[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%d", d.Name, i), Namespace: namespace, Labels: labels,
		},
		Spec: *d.Spec.Template.Spec.DeepCopy(),
	}
}

// simCommand builds the simulator command line for a pod. The manifests
// describe real vLLM servers; the sandbox replaces the container with
// llm-d-inference-sim serving the same model name (the pod's
// semantic-epp.io/model label) on the same container port, inside the pod's
// network namespace, with the downward-API variables the simulator reads.
// On a loopback network (netns "") the simulator runs in the root
// namespace on listenPort instead, which the sandbox forwards the pod's
// address and container port to; the container port is returned either way.
func simCommand(simBin, netns string, pod *corev1.Pod, simArgs []string, listenPort int) (*exec.Cmd, int, error) {
	if len(pod.Spec.Containers) == 0 {
		return nil, 0, fmt.Errorf("pod %s has no container", pod.Name)
	}
	model := pod.Labels[ModelLabel]
	if model == "" {
		return nil, 0, fmt.Errorf("pod %s has no %s label", pod.Name, ModelLabel)
	}
	c := pod.Spec.Containers[0]
	port := 8000
	if len(c.Ports) > 0 {
		port = int(c.Ports[0].ContainerPort)
	}
	listen := port
	if listenPort != 0 {
		listen = listenPort
	}
	args := []string{"--model", model, "--port", strconv.Itoa(listen), "--force-dummy-tokenizer"}
	args = append(args, simArgs...)
	cmd := exec.Command(simBin, args...)
	if netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", netns, simBin}, args...)...)
	}
	cmd.Env = append(os.Environ(), "POD_NAME="+pod.Name, "POD_NAMESPACE="+pod.Namespace)
	// The simulator dies with the sandbox even when the sandbox is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, port, nil
}

// readinessPath is the pod's readiness probe path (default /health).
func readinessPath(pod *corev1.Pod) string {
	if len(pod.Spec.Containers) > 0 {
		if p := pod.Spec.Containers[0].ReadinessProbe; p != nil && p.HTTPGet != nil && p.HTTPGet.Path != "" {
			return p.HTTPGet.Path
		}
	}
	return "/health"
}

// startSim creates the pod's namespace, starts the simulator and the prober.
func (s *Sandbox) startSim(ctx context.Context, pod *corev1.Pod, index int) (*SimPod, error) {
	podIP, err := s.net.AddPod(index)
	if err != nil {
		return nil, fmt.Errorf("network for pod %s: %w", pod.Name, err)
	}
	simArgs := append(append([]string{}, s.opts.SimArgs...), s.opts.ModelSimArgs[pod.Labels[ModelLabel]]...)
	listen := 0
	if s.net.Loopback() {
		if listen, err = freePort(); err != nil {
			s.net.RemovePod(index)
			return nil, err
		}
	}
	cmd, port, err := simCommand(s.opts.SimBinary, s.net.Namespace(index), pod, simArgs, listen)
	if err != nil {
		s.net.RemovePod(index)
		return nil, err
	}
	if listen != 0 {
		if err := s.net.Forward(index, net.JoinHostPort(podIP, strconv.Itoa(port)), "127.0.0.1:"+strconv.Itoa(listen)); err != nil {
			s.net.RemovePod(index)
			return nil, fmt.Errorf("network for pod %s: %w", pod.Name, err)
		}
	}
	sp := &SimPod{
		Name: pod.Name, Namespace: pod.Namespace, Model: pod.Labels[ModelLabel], IP: podIP, Port: port,
		index: index, readyPath: readinessPath(pod), logPath: filepath.Join(s.opts.LogDir, pod.Name+".log"), cmd: cmd, exited: make(chan struct{}),
	}
	logFile, err := os.Create(sp.logPath)
	if err != nil {
		s.net.RemovePod(index)
		return nil, fmt.Errorf("log file for %s: %w", pod.Name, err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		s.net.RemovePod(index)
		return nil, fmt.Errorf("starting simulator for %s: %w", pod.Name, err)
	}
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(sp.exited) }()
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sp.cancel = cancel
	sp.probeWG.Add(1)
	go func() { defer sp.probeWG.Done(); s.probe(pctx, sp) }()
	return sp, nil
}

// probe polls the simulator's /health like a kubelet readiness probe and
// mirrors the result into the Pod status.
func (s *Sandbox) probe(ctx context.Context, sp *SimPod) {
	hc := &http.Client{Timeout: time.Second}
	url := "http://" + sp.Endpoint() + sp.readyPath
	first := true
	for {
		ok := false
		select {
		case <-sp.exited:
		default:
			if resp, err := hc.Get(url); err == nil {
				ok = resp.StatusCode == http.StatusOK
				_ = resp.Body.Close()
			}
		}
		sp.mu.Lock()
		changed := first || ok != sp.ready
		sp.mu.Unlock()
		if changed {
			if err := s.writePodStatus(ctx, sp, ok); err != nil {
				if ctx.Err() != nil || apierrors.IsNotFound(err) {
					return
				}
				log.FromContext(ctx).Error(err, "writing pod status", "pod", sp.Name)
			} else {
				sp.mu.Lock()
				sp.ready = ok
				sp.mu.Unlock()
				first = false
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.opts.ProbePeriod):
		}
	}
}

func (s *Sandbox) writePodStatus(ctx context.Context, sp *SimPod, ready bool) error {
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var pod corev1.Pod
		if err := s.Client.Get(ctx, types.NamespacedName{Namespace: sp.Namespace, Name: sp.Name}, &pod); err != nil {
			return err
		}
		now := metav1.Now()
		_, hostIP := s.net.PodAddr(sp.index)
		pod.Status.Phase = corev1.PodRunning
		pod.Status.PodIP = sp.IP
		pod.Status.PodIPs = []corev1.PodIP{{IP: sp.IP}}
		pod.Status.HostIP = hostIP
		if pod.Status.StartTime == nil {
			pod.Status.StartTime = &now
		}
		pod.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: cond, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: cond, LastTransitionTime: now},
		}
		return s.Client.Status().Update(ctx, &pod)
	})
}

// stop ends the prober and the simulator and removes the namespace.
func (s *Sandbox) stopSim(sp *SimPod) {
	if sp.cancel != nil {
		sp.cancel()
	}
	sp.probeWG.Wait()
	if sp.cmd.Process != nil {
		_ = sp.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-sp.exited:
		case <-time.After(3 * time.Second):
			_ = sp.cmd.Process.Kill()
			<-sp.exited
		}
	}
	s.net.RemovePod(sp.index)
}

// Pause freezes a simulator (SIGSTOP): its process lives but stops
// answering, so its readiness probe fails as for a hung server.
func (p *SimPod) Pause() error { return signalSim(p, syscall.SIGSTOP) }

// Resume undoes Pause.
func (p *SimPod) Resume() error { return signalSim(p, syscall.SIGCONT) }

func signalSim(p *SimPod, sig syscall.Signal) error {
	if p.cmd.Process == nil {
		return errors.New("simulator not started")
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signalling %s: %w", p.Name, err)
	}
	return nil
}

// createPods materializes every replica of a Deployment.
func (s *Sandbox) createPods(ctx context.Context, d *appsv1.Deployment, namespace string) error {
	replicas := s.opts.Replicas
	if n, ok := s.opts.ModelReplicas[d.Spec.Template.Labels[ModelLabel]]; ok {
		replicas = n
	}
	for i := 0; i < replicas; i++ {
		pod := podFromDeployment(d, i, namespace)
		if err := s.Client.Create(ctx, pod); err != nil {
			return fmt.Errorf("creating pod %s: %w", pod.Name, err)
		}
		sp, err := s.startSim(ctx, pod, s.nextIndex)
		s.nextIndex++
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.pods[pod.Name] = sp
		s.mu.Unlock()
	}
	return nil
}

// Pods returns the running pods sorted by name.
func (s *Sandbox) Pods() []*SimPod {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*SimPod, 0, len(s.pods))
	for _, p := range s.pods {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PodsOf returns the running pods of one model.
func (s *Sandbox) PodsOf(model string) []*SimPod {
	var out []*SimPod
	for _, p := range s.Pods() {
		if p.Model == model {
			out = append(out, p)
		}
	}
	return out
}

// DeletePod deletes the Pod object and then stops its simulator, as a
// kubelet would after the deletion.
func (s *Sandbox) DeletePod(ctx context.Context, name string) error {
	s.mu.Lock()
	sp, ok := s.pods[name]
	delete(s.pods, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("no pod %q", name)
	}
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace = sp.Name, sp.Namespace
	err := s.Client.Delete(ctx, pod, client.GracePeriodSeconds(0))
	s.stopSim(sp)
	if err != nil {
		return fmt.Errorf("deleting pod %s: %w", name, err)
	}
	return nil
}

// WaitPodsReady waits until every running pod reports Ready in the API.
func (s *Sandbox) WaitPodsReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		notReady := []string{}
		for _, p := range s.Pods() {
			var pod corev1.Pod
			err := s.Client.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, &pod)
			if err != nil || !podReady(&pod) {
				notReady = append(notReady, p.Name)
			}
		}
		if len(notReady) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pods not ready after %s: %v (logs in %s)", timeout, notReady, s.opts.LogDir)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for pods: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue && p.Status.PodIP != ""
		}
	}
	return false
}
