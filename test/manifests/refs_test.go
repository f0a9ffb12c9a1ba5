package manifests

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// objectSet indexes rendered objects by kind and name.
type objectSet map[string]map[string]*unstructured.Unstructured

func newObjectSet(objs []*unstructured.Unstructured) objectSet {
	s := objectSet{}
	for _, o := range objs {
		if s[o.GetKind()] == nil {
			s[o.GetKind()] = map[string]*unstructured.Unstructured{}
		}
		s[o.GetKind()][o.GetName()] = o
	}
	return s
}

func (s objectSet) one(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o := s[kind][name]
	if o == nil {
		t.Fatalf("no %s %s in the rendering", kind, name)
	}
	return o
}

// eppContainer returns a Deployment's container named "epp", or nil.
func eppContainer(d *unstructured.Unstructured) map[string]any {
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		if m, ok := c.(map[string]any); ok && m["name"] == "epp" {
			return m
		}
	}
	return nil
}

// eppDeployments are the Deployments running an "epp" container.
func (s objectSet) eppDeployments() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, d := range s["Deployment"] {
		if eppContainer(d) != nil {
			out = append(out, d)
		}
	}
	return out
}

// flagValue returns the value of --name in args ("--name v" or "--name=v"),
// with $(VAR) references expanded from the container's literal env.
func flagValue(c map[string]any, name string) (string, bool) {
	args := expandedArgs(c)
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// hasBoolFlag reports whether a boolean flag is on in the container's args
// ("--name" or "--name=true").
func hasBoolFlag(c map[string]any, name string) bool {
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	return slices.Contains(args, "--"+name) || slices.Contains(args, "--"+name+"=true")
}

// podLabels returns a Deployment's pod template labels.
func podLabels(d *unstructured.Unstructured) map[string]string {
	l, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	return l
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func containerPorts(d *unstructured.Unstructured) []int64 {
	var ports []int64
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		ps, _, _ := unstructured.NestedSlice(c.(map[string]any), "ports")
		for _, p := range ps {
			if n, ok := p.(map[string]any)["containerPort"].(int64); ok {
				ports = append(ports, n)
			}
		}
	}
	return ports
}

func servicePorts(s *unstructured.Unstructured) []int64 {
	var ports []int64
	ps, _, _ := unstructured.NestedSlice(s.Object, "spec", "ports")
	for _, p := range ps {
		if n, ok := p.(map[string]any)["port"].(int64); ok {
			ports = append(ports, n)
		}
	}
	return ports
}

// checkReferences: every name one object uses resolves to an object of the
// same rendering, with matching ports and labels.
func checkReferences(t *testing.T, s objectSet) {
	t.Helper()
	eppServices := map[string]bool{}
	// A partial kustomization (deploy/inferencepool) refers to objects of
	// another one (deploy/base): those references are checked in the overlays.
	withEPP := len(s.eppDeployments()) > 0
	for name, pool := range s["InferencePool"] {
		ref, _, _ := unstructured.NestedString(pool.Object, "spec", "endpointPickerRef", "name")
		port, _, _ := unstructured.NestedInt64(pool.Object, "spec", "endpointPickerRef", "port", "number")
		svc := s["Service"][ref]
		if svc == nil && !withEPP {
			continue
		}
		if svc == nil {
			t.Errorf("InferencePool %s: endpointPickerRef %s is not a Service of this rendering", name, ref)
			continue
		}
		eppServices[ref] = true
		if !slices.Contains(servicePorts(svc), port) {
			t.Errorf("InferencePool %s: Service %s has no port %d", name, ref, port)
		}
		// The Service must reach an EPP serving this very pool.
		sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
		served := false
		for _, d := range s.eppDeployments() {
			if !selects(sel, podLabels(d)) {
				continue
			}
			if pn, _ := flagValue(eppContainer(d), "pool-name"); pn == name {
				served = true
			} else {
				t.Errorf("Service %s selects EPP %s, which serves pool %q, not %s", ref, d.GetName(), pn, name)
			}
		}
		if !served {
			t.Errorf("InferencePool %s: no EPP Deployment behind Service %s runs --pool-name %s", name, ref, name)
		}
		// Its pods: model-server Deployments whose pods it selects.
		poolSel, _, _ := unstructured.NestedStringMap(pool.Object, "spec", "selector", "matchLabels")
		targets, _, _ := unstructured.NestedSlice(pool.Object, "spec", "targetPorts")
		var models []string
		for _, d := range s["Deployment"] {
			if eppContainer(d) != nil || !selects(poolSel, podLabels(d)) {
				continue
			}
			models = append(models, podLabels(d)["semantic-epp.io/model"])
			for _, tp := range targets {
				n, _, _ := unstructured.NestedInt64(tp.(map[string]any), "number")
				if !slices.Contains(containerPorts(d), n) {
					t.Errorf("InferencePool %s: target port %d is not a port of %s", name, n, d.GetName())
				}
			}
		}
		if len(s.modelServers()) > 0 && len(models) == 0 {
			t.Errorf("InferencePool %s selects no model-server pod", name)
		}
		t.Logf("InferencePool %s -> EPP Service %s, models %v", name, ref, models)
	}
	for name, r := range s["HTTPRoute"] {
		rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
		for _, rule := range rules {
			brs, _, _ := unstructured.NestedSlice(rule.(map[string]any), "backendRefs")
			for _, br := range brs {
				m := br.(map[string]any)
				if m["kind"] == "InferencePool" && s["InferencePool"][m["name"].(string)] == nil {
					t.Errorf("HTTPRoute %s: backend InferencePool %s is not in this rendering", name, m["name"])
				}
			}
		}
		parents, _, _ := unstructured.NestedSlice(r.Object, "spec", "parentRefs")
		for _, p := range parents {
			m := p.(map[string]any)
			if len(s["Gateway"]) > 0 && s["Gateway"][m["name"].(string)] == nil {
				t.Errorf("HTTPRoute %s: parent Gateway %s is not in this rendering", name, m["name"])
			}
		}
	}
	for name, dr := range s["DestinationRule"] {
		host, _, _ := unstructured.NestedString(dr.Object, "spec", "host")
		short := strings.Split(host, ".")[0]
		if withEPP && !eppServices[short] {
			t.Errorf("DestinationRule %s: host %s is not an EPP Service of a pool here", name, host)
		}
		mode, _, _ := unstructured.NestedString(dr.Object, "spec", "trafficPolicy", "tls", "mode")
		if mode != "SIMPLE" {
			t.Errorf("DestinationRule %s: tls.mode %q; the EPP serves TLS (--secure-serving), so SIMPLE", name, mode)
		}
	}
}

// modelServers are the Deployments labelled with the model they serve.
func (s objectSet) modelServers() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, d := range s["Deployment"] {
		if podLabels(d)["semantic-epp.io/model"] != "" {
			out = append(out, d)
		}
	}
	return out
}

// checkEPPDeployments: the upstream EPP's ports and probes, a config file
// that the mounted ConfigMap holds, and an existing service account.
func checkEPPDeployments(t *testing.T, s objectSet) {
	t.Helper()
	for _, d := range s.eppDeployments() {
		c := eppContainer(d)
		for _, p := range []int64{9002, 9003, 9090} {
			if !slices.Contains(containerPorts(d), p) {
				t.Errorf("%s: no container port %d", d.GetName(), p)
			}
		}
		// Upstream's health services: "inference-extension" for one
		// replica; with leader election "liveness" and "readiness" (only
		// the leader is ready).
		replicas, found, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
		ha := hasBoolFlag(c, "ha-enable-leader-election")
		if found && replicas > 1 && !ha {
			t.Errorf("%s: %d replicas without --ha-enable-leader-election", d.GetName(), replicas)
		}
		wantService := map[string]string{"livenessProbe": "inference-extension", "readinessProbe": "inference-extension"}
		if ha {
			wantService = map[string]string{"livenessProbe": "liveness", "readinessProbe": "readiness"}
		}
		for probe, want := range wantService {
			port, _, _ := unstructured.NestedInt64(c, probe, "grpc", "port")
			svc, _, _ := unstructured.NestedString(c, probe, "grpc", "service")
			if port != 9003 || svc != want {
				t.Errorf("%s: %s is gRPC %d service %q, want the health port 9003 service %q", d.GetName(), probe, port, svc, want)
			}
		}
		sa, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "serviceAccountName")
		if s["ServiceAccount"][sa] == nil {
			t.Errorf("%s: service account %q is not in this rendering", d.GetName(), sa)
		}
		cfgFile, ok := flagValue(c, "config-file")
		if !ok {
			t.Errorf("%s: no --config-file", d.GetName())
			continue
		}
		if text := mountedFile(t, s, d, c, cfgFile); text == "" {
			t.Errorf("%s: --config-file %s is not a key of a mounted ConfigMap of this rendering", d.GetName(), cfgFile)
		}
	}
}

// mountedFile returns the content of path as mounted into container c of
// Deployment d from a ConfigMap volume, or "".
func mountedFile(t *testing.T, s objectSet, d *unstructured.Unstructured, c map[string]any, path string) string {
	t.Helper()
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	vols, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	for _, m := range mounts {
		mm := m.(map[string]any)
		dir := mm["mountPath"].(string)
		rel, err := filepath.Rel(dir, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		for _, v := range vols {
			vm := v.(map[string]any)
			if vm["name"] != mm["name"] {
				continue
			}
			cmName, _, _ := unstructured.NestedString(vm, "configMap", "name")
			cm := s["ConfigMap"][cmName]
			if cm == nil {
				continue
			}
			data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
			return data[rel]
		}
	}
	return ""
}

// TestBaseConfigIsTheExample: deploy/base ships config/semantic-epp.yaml
// unchanged (kustomize cannot read files outside deploy/base, so it is a copy).
func TestBaseConfigIsTheExample(t *testing.T) {
	want, err := os.ReadFile("../../config/semantic-epp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Render(filepath.Join(deployDir, "base"))
	if err != nil {
		t.Fatal(err)
	}
	s := newObjectSet(objs)
	d := s.one(t, "Deployment", "semantic-epp")
	c := eppContainer(d)
	cfgFile, _ := flagValue(c, "config-file")
	got := mountedFile(t, s, d, c, cfgFile)
	if got != string(want) {
		t.Errorf("deploy/base/semantic-epp.yaml differs from config/semantic-epp.yaml: run\n  cp config/semantic-epp.yaml deploy/base/semantic-epp.yaml")
	}
}

// TestGPUConfigIsTheExampleOnCUDA: components/gpu's config is
// config/semantic-epp.yaml with only the classifier settings changed.
func TestGPUConfigIsTheExampleOnCUDA(t *testing.T) {
	load := func(p string) map[string]any {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return m
	}
	base := load("../../config/semantic-epp.yaml")
	gpu := load(filepath.Join(deployDir, "components", "gpu", "semantic-epp.yaml"))
	classifier := func(m map[string]any) map[string]any {
		for _, p := range m["plugins"].([]any) {
			pm := p.(map[string]any)
			if pm["type"] == "semantic-model-selector" {
				params := pm["parameters"].(map[string]any)
				c, _ := params["classifier"].(map[string]any)
				delete(params, "classifier")
				return c
			}
		}
		t.Fatal("no semantic-model-selector plugin")
		return nil
	}
	bc, gc := classifier(base), classifier(gpu)
	if !reflect.DeepEqual(base, gpu) {
		t.Error("components/gpu/semantic-epp.yaml differs from config/semantic-epp.yaml beyond the classifier settings")
	}
	if gc["device"] != "cuda" {
		t.Errorf("GPU classifier device %v, want cuda", gc["device"])
	}
	for k, v := range bc {
		if !reflect.DeepEqual(gc[k], v) {
			t.Errorf("classifier.%s: %v in the GPU config, %v in config/semantic-epp.yaml", k, gc[k], v)
		}
	}
}
