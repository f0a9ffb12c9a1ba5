package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// helmBinary returns the helm that `make helm` builds ($HELM_BIN).
func helmBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("HELM_BIN")
	if p == "" {
		p = filepath.Join(repoRoot, ".cache", "bin", "helm-v3.19.0")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no helm at %s: run `make helm` (or set HELM_BIN)", p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// copyTree copies a folder (the read-only module cache's charts) to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// renderUpstreamChart renders GIE v1.5.0's inferencepool chart (from the Go
// module cache) with deploy/helm/values.yaml and config/semantic-epp.yaml,
// as docs/deployment.md's helm command does.
func renderUpstreamChart(t *testing.T, release, ns string) []*unstructured.Unstructured {
	t.Helper()
	helm := helmBinary(t)
	gie, err := moduleDir(gieModule, false)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for _, c := range []string{"inferencepool", "epplib"} {
		copyTree(t, filepath.Join(gie, "config", "charts", c), filepath.Join(work, c))
	}
	values, _ := filepath.Abs(filepath.Join(deployDir, "helm", "values.yaml"))
	cfg, _ := filepath.Abs(filepath.Join(repoRoot, "config", "semantic-epp.yaml"))
	env := append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(work, "h-cache"),
		"HELM_CONFIG_HOME="+filepath.Join(work, "h-config"), "HELM_DATA_HOME="+filepath.Join(work, "h-data"))
	run := func(args ...string) []byte {
		cmd := exec.Command(helm, args...)
		cmd.Dir, cmd.Env = work, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("helm %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.Bytes()
	}
	run("dependency", "build", "inferencepool")
	out := run("template", release, "inferencepool", "--namespace", ns, "-f", values,
		"--set-file", `inferenceExtension.pluginsCustomConfig.semantic-epp\.yaml=`+cfg)
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decoding helm output: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		// Through JSON, so numbers are int64 as in objects read from the API.
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			t.Fatalf("helm output: %v", err)
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		t.Fatal("helm rendered nothing")
	}
	return objs
}

// TestUpstreamHelmChart: the upstream inferencepool chart with
// deploy/helm/values.yaml deploys semantic-epp as the fused pool's EPP: its
// objects pass the API server's validation next to deploy/model-servers and
// deploy/istio, its pool selects both models' pods, its config file is
// config/semantic-epp.yaml, and bin/epp runs as the chart deploys it.
func TestUpstreamHelmChart(t *testing.T) {
	const ns, release = "helm", "semantic-epp-pool"
	createNamespace(t, ns)
	objs := renderUpstreamChart(t, release, ns)
	for _, dir := range []string{"model-servers", "istio"} {
		objs = append(objs, renderInNamespace(t, filepath.Join(deployDir, dir), ns)...)
	}
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(ns)
		}
		if err := applyObject(t, o); err != nil {
			t.Fatalf("API server rejected %s %s from the chart: %v", o.GetKind(), o.GetName(), err)
		}
	}
	set := newObjectSet(objs)
	pool := set.one(t, "InferencePool", release)
	checkReferences(t, set)
	checkEPPDeployments(t, set)
	checkRBAC(t, set, ns)
	if len(set.modelServers()) != 2 {
		t.Fatalf("want the two model servers, have %d", len(set.modelServers()))
	}
	sel, _, _ := unstructured.NestedStringMap(pool.Object, "spec", "selector", "matchLabels")
	for _, d := range set.modelServers() {
		if !selects(sel, podLabels(d)) {
			t.Errorf("the chart's pool does not select %s", d.GetName())
		}
	}
	want, err := os.ReadFile(filepath.Join(repoRoot, "config", "semantic-epp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deps := set.eppDeployments()
	if len(deps) != 1 {
		t.Fatalf("want one EPP Deployment, have %d", len(deps))
	}
	d := deps[0]
	c := eppContainer(d)
	cfgPath, _ := flagValue(c, "config-file")
	if got := mountedFile(t, set, d, c, cfgPath); got != string(want) {
		t.Errorf("the chart mounts at %s a config that is not config/semantic-epp.yaml", cfgPath)
	}
	runEPP(t, eppBinary(t), set, d, ns)
}
