package manifests

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

var (
	eppOnce sync.Once
	eppBin  string
	eppErr  error
)

// eppBinary builds bin/epp as the image does (`make epp-image-bin`) into a
// temporary folder, once per test run.
func eppBinary(t *testing.T) string {
	t.Helper()
	eppOnce.Do(func() {
		dir, err := os.MkdirTemp("", "semantic-epp-manifests-")
		if err != nil {
			eppErr = err
			return
		}
		cmd := exec.Command("make", "epp-image-bin", "BIN="+dir)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			eppErr = fmt.Errorf("make epp-image-bin: %w\n%s", err, out)
			return
		}
		eppBin = filepath.Join(dir, "epp")
	})
	if eppErr != nil {
		t.Fatal(eppErr)
	}
	return eppBin
}

// TestEPPStartsAsDeployed runs bin/epp the way each overlay deploys it,
// against the API server: the container's args (pool name, ports, config
// file from the rendered ConfigMap), NAMESPACE and POD_NAME as the
// Deployment sets them, and credentials of the EPP's own service account (a
// TokenRequest token), so that its RBAC, its config and its flags are what
// the cluster would run. It passes when the health service the Deployment's
// readiness probe asks for reports SERVING (the pool is synced; with leader
// election, this replica leads).
func TestEPPStartsAsDeployed(t *testing.T) {
	bin := eppBinary(t)
	for i, overlay := range []string{"one-hop", "one-hop-gpu", "one-hop-ha", "two-hop"} {
		t.Run(overlay, func(t *testing.T) {
			ns := fmt.Sprintf("run%d-%s", i, overlay)
			objs := renderInNamespace(t, filepath.Join(deployDir, "overlays", overlay), ns)
			createNamespace(t, ns)
			for _, o := range objs {
				if err := applyObject(t, o); err != nil {
					t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
				}
			}
			set := newObjectSet(objs)
			deps := set.eppDeployments()
			if len(deps) == 0 {
				t.Fatal("no EPP Deployment")
			}
			for _, d := range deps {
				t.Run(d.GetName(), func(t *testing.T) { runEPP(t, bin, set, d, ns) })
			}
		})
	}
}

func runEPP(t *testing.T, bin string, set objectSet, d *unstructured.Unstructured, ns string) {
	c := eppContainer(d)
	dir := t.TempDir()
	cfgPath, _ := flagValue(c, "config-file")
	cfgText := mountedFile(t, set, d, c, cfgPath)
	if cfgText == "" {
		t.Fatalf("no config at %s", cfgPath)
	}
	localCfg := filepath.Join(dir, filepath.Base(cfgPath))
	if err := os.WriteFile(localCfg, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	sa, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "serviceAccountName")
	kubeconfig := saKubeconfig(t, ns, sa, dir)

	// The container's args with $(VAR)s expanded, the config file and the
	// ports made local (the last occurrence of a flag wins).
	args := expandedArgs(c)
	ports := freePorts(t, 3)
	args = append(args, "--config-file", localCfg,
		"--grpc-port", strconv.Itoa(ports[0]),
		"--grpc-health-port", strconv.Itoa(ports[1]),
		"--metrics-port", strconv.Itoa(ports[2]))
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "NAMESPACE="+ns, "POD_NAME="+d.GetName()+"-0")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		waitErr := <-exited
		if t.Failed() {
			t.Logf("epp %s (%v) output:\n%s", strings.Join(args, " "), waitErr, tail(logs.String(), 4000))
		}
	}()

	service, _, _ := unstructured.NestedString(c, "readinessProbe", "grpc", "service")
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(ports[1]), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("epp exited before it was ready: %v", err)
		default:
		}
		cctx, cancel := context.WithTimeout(ctx(t), time.Second)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: service})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			t.Logf("%s: health service %q SERVING as %s", d.GetName(), service, sa)
			checkClassifierBackend(t, cfgText, logs.String())
			return
		}
		last = fmt.Sprint(resp.GetStatus(), err)
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("health service %q never SERVING (last: %s)", service, last)
}

// checkClassifierBackend: an EPP whose config has the semantic selector
// loads the embedded ONNX model with ONNX Runtime (found here in the make
// cache, in the images at /usr/lib/onnxruntime), not the linear fallback.
func checkClassifierBackend(t *testing.T, cfgText, logs string) {
	t.Helper()
	if !strings.Contains(cfgText, "type: semantic-model-selector") {
		return
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"msg":"ONNX classifier loaded"`) {
			t.Logf("classifier: %s", line)
			return
		}
	}
	t.Errorf("the EPP did not load the ONNX classifier (linear fallback?); its log:\n%s", tail(logs, 3000))
}

func expandedArgs(c map[string]any) []string {
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	env := map[string]string{}
	es, _, _ := unstructured.NestedSlice(c, "env")
	for _, e := range es {
		m := e.(map[string]any)
		if v, ok := m["value"].(string); ok {
			env[m["name"].(string)] = v
		}
	}
	out := make([]string, len(args))
	for i, a := range args {
		for k, v := range env {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		out[i] = a
	}
	return out
}

// saKubeconfig writes a kubeconfig that authenticates as the service
// account ns/name with a token from the TokenRequest API.
func saKubeconfig(t *testing.T, ns, name, dir string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{}
	sa.Namespace, sa.Name = ns, name
	tr := &authnv1.TokenRequest{}
	if err := testClient.SubResource("token").Create(ctx(t), sa, tr); err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, name, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: testCfg.Host, CertificateAuthorityData: testCfg.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = "sa"
	p := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
