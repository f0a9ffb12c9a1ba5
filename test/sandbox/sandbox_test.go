package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadKustomization(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    []string // kind/name in order
		wantErr string
	}{
		{"resources in order, multi-document", map[string]string{
			"kustomization.yaml": "resources:\n- b.yaml\n- a.yaml\n",
			"a.yaml":             "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
			"b.yaml":             "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n---\n# comment only\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p2\n",
		}, []string{"Pod/p1", "Pod/p2", "Service/s"}, ""},
		{"missing kustomization", map[string]string{}, nil, "reading kustomization"},
		{"missing resource", map[string]string{"kustomization.yaml": "resources:\n- gone.yaml\n"}, nil, "gone.yaml"},
		{"document without kind", map[string]string{
			"kustomization.yaml": "resources:\n- a.yaml\n", "a.yaml": "metadata:\n  name: x\n",
		}, nil, "no kind"},
		{"broken YAML", map[string]string{
			"kustomization.yaml": "resources:\n- a.yaml\n", "a.yaml": "kind: [\n",
		}, nil, "decoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, b := range tc.files {
				write(t, dir, n, b)
			}
			objs, err := LoadKustomization(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// The manifests the sandbox applies must load and hold what it needs.
func TestRepositoryManifests(t *testing.T) {
	pools, err := LoadKustomization("../../deploy/inferencepool")
	if err != nil {
		t.Fatal(err)
	}
	servers, err := LoadKustomization("../../deploy/model-servers")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	models := map[string]bool{}
	for _, o := range append(pools, servers...) {
		kinds[o.GetKind()]++
		if o.GetKind() == "Deployment" {
			labels := templateLabels(o.Object)
			models[labels[ModelLabel]] = true
		}
	}
	if kinds["InferencePool"] != 1 || kinds["Deployment"] != 2 || !models["llama3-8b"] || !models["phi4-mini"] {
		t.Fatalf("kinds %v, models %v: want one InferencePool and Deployments for llama3-8b and phi4-mini", kinds, models)
	}
}

// templateLabels reads spec.template.metadata.labels of a Deployment.
func templateLabels(obj map[string]any) map[string]string {
	out := map[string]string{}
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	meta, _ := tmpl["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	for k, v := range labels {
		s, _ := v.(string)
		out[k] = s
	}
	return out
}

func TestSimCommand(t *testing.T) {
	pod := func(labels map[string]string, port int32, probe string) *corev1.Pod {
		c := corev1.Container{Name: "vllm"}
		if port != 0 {
			c.Ports = []corev1.ContainerPort{{ContainerPort: port}}
		}
		if probe != "" {
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: probe}}}
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "m-0", Namespace: "ns", Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		netns     string
		listen    int
		wantArgs  string
		wantPort  int
		wantProbe string
		wantErr   string
	}{
		{"model label and port", pod(map[string]string{ModelLabel: "phi4-mini"}, 9000, "/ready"), "ns0", 0,
			"ip netns exec ns0 /sim --model phi4-mini --port 9000 --force-dummy-tokenizer --mode echo", 9000, "/ready", ""},
		{"default port and probe", pod(map[string]string{ModelLabel: "llama3-8b"}, 0, ""), "ns0", 0,
			"ip netns exec ns0 /sim --model llama3-8b --port 8000 --force-dummy-tokenizer --mode echo", 8000, "/health", ""},
		// Loopback: no namespace, the simulator on its own port; the
		// container port is still the pod's.
		{"loopback", pod(map[string]string{ModelLabel: "phi4-mini"}, 8000, ""), "", 41234,
			"/sim --model phi4-mini --port 41234 --force-dummy-tokenizer --mode echo", 8000, "/health", ""},
		{"no model label", pod(nil, 8000, ""), "ns0", 0, "", 0, "", "no semantic-epp.io/model label"},
		{"no container", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, "ns0", 0, "", 0, "", "no container"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, port, err := simCommand("/sim", tc.netns, tc.pod, []string{"--mode", "echo"}, tc.listen)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(cmd.Args, " "); got != tc.wantArgs || port != tc.wantPort {
				t.Fatalf("got %q port %d, want %q port %d", got, port, tc.wantArgs, tc.wantPort)
			}
			if p := readinessPath(tc.pod); p != tc.wantProbe {
				t.Errorf("readiness path %q, want %q", p, tc.wantProbe)
			}
			env := strings.Join(cmd.Env, "\n")
			if !strings.Contains(env, "POD_NAME=m-0") || !strings.Contains(env, "POD_NAMESPACE=ns") {
				t.Errorf("downward-API env missing")
			}
		})
	}
}

func TestPodFromDeployment(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "phi4-mini"}}
	d.Spec.Template.Labels = map[string]string{ModelLabel: "phi4-mini", "app": "a"}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "i"}}
	p := podFromDeployment(d, 1, "ns")
	if p.Name != "phi4-mini-1" || p.Namespace != "ns" || p.Labels["app"] != "a" || p.Spec.Containers[0].Image != "i" {
		t.Fatalf("pod %+v", p)
	}
	p.Labels["app"] = "changed"
	if d.Spec.Template.Labels["app"] != "a" {
		t.Fatal("pod shares the template's label map")
	}
}

// TestNetworkSweepsStaleNamespaces: sandboxes that died without cleaning
// up leave namespaces under their slots; the next sandbox removes those of
// every free slot, and Close leaves nothing behind.
func TestNetworkSweepsStaleNamespaces(t *testing.T) {
	n, err := NewNetwork()
	if errors.Is(err, ErrNoNetns) {
		t.Skipf("this machine cannot create network namespaces: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddPod(0); err != nil {
		n.Close()
		t.Fatal(err)
	}
	stale := n.Namespace(0)
	// A control-plane process the dead sandbox leaves behind.
	orphan := exec.Command("sleep", "300")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = orphan.Process.Kill() })
	waited := make(chan error, 1)
	go func() { waited <- orphan.Wait() }()
	if pids := childProcesses("sleep"); len(pids) != 1 || pids[0] != orphan.Process.Pid {
		t.Fatalf("childProcesses = %v, want [%d]", pids, orphan.Process.Pid)
	}
	if err := n.RecordProcesses([]int{orphan.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	// Die without cleanup: drop the lock only.
	_ = syscall.Flock(int(n.lock.Fd()), syscall.LOCK_UN)
	_ = n.lock.Close()
	// A sandbox that died holding another slot left this one.
	other := fmt.Sprintf("sepp%d-0", maxSlots-1)
	if out, err := exec.Command("ip", "netns", "add", other).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", other, err, out)
	}

	n2, err := NewNetwork()
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if n2.slot != n.slot {
		t.Skipf("another sandbox took slot %d meanwhile", n.slot)
	}
	for _, ns := range []string{stale, other} {
		if hasNamespace(t, ns) {
			t.Fatalf("stale namespace %s survived the sweep", ns)
		}
	}
	select {
	case err := <-waited:
		if err == nil {
			t.Fatal("recorded process exited normally, want killed")
		}
	case <-time.After(5 * time.Second):
		_ = orphan.Process.Kill()
		t.Fatal("recorded process survived the sweep")
	}
	ip, err := n2.AddPod(1)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := n2.PodAddr(1); ip != want || !hasNamespace(t, n2.Namespace(1)) {
		t.Fatalf("pod 1 at %s (want %s)", ip, want)
	}
	n2.Close()
	if hasNamespace(t, n2.Namespace(1)) {
		t.Fatal("Close left a namespace")
	}
}

func hasNamespace(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

// TestKillRecordedIdentifiesByStartTime: a recorded process is ended even
// when its command line changed after it was recorded (as it does while a
// just-started process finishes exec), and a live process whose start time
// differs from the record (a recycled pid) is left alone.
func TestKillRecordedIdentifiesByStartTime(t *testing.T) {
	n, err := NewNetwork()
	if errors.Is(err, ErrNoNetns) {
		t.Skipf("this machine cannot create network namespaces: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	start := func(args ...string) (*exec.Cmd, chan error) {
		c := exec.Command(args[0], args[1:]...)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Process.Kill() })
		waited := make(chan error, 1)
		go func() { waited <- c.Wait() }()
		return c, waited
	}

	execs, waited := start("sh", "-c", "sleep 0.3; exec sleep 300")
	if err := n.RecordProcesses([]int{execs.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", execs.Process.Pid))
		if string(b) == "sleep\x00300\x00" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process never exec'd sleep: cmdline %q", b)
		}
	}
	killRecorded(n.dir, n.slot)
	select {
	case err := <-waited:
		t.Logf("recorded process ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("recorded process that exec'd after recording survived killRecorded")
	}

	recycled, waited := start("sleep", "300")
	st, err := startTime(recycled.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("%d %d sleep 300\n", recycled.Process.Pid, st+1)
	if err := os.WriteFile(pidFile(n.dir, n.slot), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	killRecorded(n.dir, n.slot)
	select {
	case err := <-waited:
		t.Fatalf("a process with another start time was killed: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestLoopbackNetwork: without namespaces, two pods get their own loopback
// addresses on the same port, each forwarded to its own server, and
// RemovePod and Close stop the forwarding.
func TestLoopbackNetwork(t *testing.T) {
	n, err := NewLoopbackNetwork()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Namespace(0) != "" {
		t.Fatalf("loopback pod has namespace %q", n.Namespace(0))
	}
	port, err := freePort() // the pods' shared container port
	if err != nil {
		t.Fatal(err)
	}
	urls := make([]string, 2)
	for i := range urls {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintf(w, "pod %d", i) }))
		defer srv.Close()
		ip, err := n.AddPod(i)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := n.PodAddr(i); ip != want || !strings.HasPrefix(ip, "127.244.") {
			t.Fatalf("pod %d at %s, want %s on loopback", i, ip, want)
		}
		listen := net.JoinHostPort(ip, strconv.Itoa(port))
		if err := n.Forward(i, listen, srv.Listener.Addr().String()); err != nil {
			t.Fatal(err)
		}
		urls[i] = "http://" + listen
	}
	c := &http.Client{Timeout: 2 * time.Second}
	get := func(url string) (string, error) {
		resp, err := c.Get(url)
		if err != nil {
			return "", err
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	for i, u := range urls {
		for range 2 { // a second request on the kept-alive connection
			if got, err := get(u); err != nil || got != fmt.Sprintf("pod %d", i) {
				t.Fatalf("GET %s = %q, %v; want pod %d", u, got, err, i)
			}
		}
	}
	n.RemovePod(0)
	if got, err := get(urls[0]); err == nil {
		t.Fatalf("pod 0 still answers after RemovePod: %q", got)
	}
	if got, err := get(urls[1]); err != nil || got != "pod 1" {
		t.Fatalf("pod 1 = %q, %v after removing pod 0", got, err)
	}
}
