package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const deployDir = "../../deploy"

// fieldOwner is the server-side apply field manager of these tests.
const fieldOwner = client.FieldOwner("semantic-epp-manifests-test")

// TestRenderEveryKustomization: each kustomization under deploy/ builds with
// kustomize's default options, as `kubectl kustomize` / `kubectl apply -k`
// build it, and yields objects.
func TestRenderEveryKustomization(t *testing.T) {
	dirs, err := Kustomizations(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"base", "inferencepool", "istio", "model-servers", "overlays/one-hop", "overlays/two-hop"}
	have := map[string]bool{}
	for _, d := range dirs {
		rel, _ := filepath.Rel(deployDir, d)
		have[filepath.ToSlash(rel)] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("deploy/%s: no kustomization", w)
		}
	}
	for _, d := range dirs {
		t.Run(d, func(t *testing.T) {
			b, err := RenderYAML(d)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				t.Fatal("empty rendering")
			}
		})
	}
}

// TestApplyToAPIServer applies every kustomization, each into a namespace of
// its own (set with kustomize's namespace transformer, as a user would), to
// the real API server with server-side apply: the server validates every
// object against the installed CRD schemas (an unknown or misplaced field
// fails), then the objects' references and the EPP's RBAC are checked.
func TestApplyToAPIServer(t *testing.T) {
	dirs, err := Kustomizations(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range dirs {
		rel, _ := filepath.Rel(deployDir, d)
		ns := fmt.Sprintf("t%d-%s", i, strings.NewReplacer("/", "-", "_", "-").Replace(rel))
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			objs := renderInNamespace(t, d, ns)
			createNamespace(t, ns)
			for _, o := range objs {
				if err := applyObject(t, o); err != nil {
					t.Errorf("API server rejected %s %s: %v", o.GetKind(), o.GetName(), err)
				}
			}
			if t.Failed() {
				return
			}
			set := newObjectSet(objs)
			checkReferences(t, set)
			checkEPPDeployments(t, set)
			checkRBAC(t, set, ns)
			checkNetworkPolicy(t, set, filepath.ToSlash(rel))
		})
	}
}

// renderInNamespace builds dir through a kustomization that only sets the
// namespace, the way a user deploys into a namespace of their own.
func renderInNamespace(t *testing.T, dir, ns string) []*unstructured.Unstructured {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	wrap := t.TempDir()
	// kustomize wants a relative path to another kustomization.
	ref, err := filepath.Rel(wrap, abs)
	if err != nil {
		t.Fatal(err)
	}
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n- %s\n", ns, ref)
	if err := os.WriteFile(filepath.Join(wrap, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := Render(wrap)
	if err != nil {
		t.Fatalf("rendering %s into namespace %s: %v", dir, ns, err)
	}
	return objs
}

func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := testClient.Create(ctx(t), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func applyObject(t *testing.T, o *unstructured.Unstructured) error {
	t.Helper()
	return testClient.Apply(ctx(t), client.ApplyConfigurationFromUnstructured(o.DeepCopy()), fieldOwner, client.ForceOwnership)
}

// TestAPIServerRejectsBrokenObjects shows that the validation above has
// teeth: objects a schema forbids are refused.
func TestAPIServerRejectsBrokenObjects(t *testing.T) {
	objs, err := Render(filepath.Join(deployDir, "overlays", "one-hop"))
	if err != nil {
		t.Fatal(err)
	}
	set := newObjectSet(objs)
	pool := set.one(t, "InferencePool", "semantic-epp-pool")
	route := set.one(t, "HTTPRoute", "semantic-epp-route")
	dr := set.one(t, "DestinationRule", "semantic-epp-insecure-tls")
	createNamespace(t, "broken")
	tests := []struct {
		name   string
		obj    *unstructured.Unstructured
		break_ func(o *unstructured.Unstructured)
	}{
		{"pool unknown field", pool, func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "x", "spec", "endpointPickerRef", "portNumber")
		}},
		{"pool port out of range", pool, func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedSlice(o.Object, []any{map[string]any{"number": int64(70000)}}, "spec", "targetPorts")
		}},
		{"pool bad failure mode", pool, func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "FailSometimes", "spec", "endpointPickerRef", "failureMode")
		}},
		{"route bad header match type", route, func(o *unstructured.Unstructured) {
			rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
			r := rules[0].(map[string]any)
			r["matches"] = []any{map[string]any{"headers": []any{map[string]any{"type": "Fuzzy", "name": "x-selected-model", "value": "a"}}}}
			_ = unstructured.SetNestedSlice(o.Object, rules, "spec", "rules")
		}},
		{"destination rule bad TLS mode", dr, func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "SOMETIMES", "spec", "trafficPolicy", "tls", "mode")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.obj.DeepCopy()
			o.SetNamespace("broken")
			tt.break_(o)
			err := applyObject(t, o)
			if err == nil {
				t.Fatalf("API server accepted a broken %s", o.GetKind())
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// eppRules are the (group, resource, verb) the GIE v1.5.0 runner uses in its
// namespace: it watches its InferencePool, InferenceObjectives,
// InferenceModelRewrites and pods (pkg/epp/controller).
var eppRules = []authzv1.ResourceAttributes{
	{Group: "inference.networking.k8s.io", Resource: "inferencepools"},
	{Group: "inference.networking.x-k8s.io", Resource: "inferenceobjectives"},
	{Group: "inference.networking.x-k8s.io", Resource: "inferencemodelrewrites"},
	{Group: "", Resource: "pods"},
}

// checkRBAC asks the API server's RBAC authorizer what each EPP's service
// account may do: everything the runner reads, and nothing it does not need.
func checkRBAC(t *testing.T, set objectSet, ns string) {
	t.Helper()
	for _, d := range set.eppDeployments() {
		sa, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "serviceAccountName")
		user := "system:serviceaccount:" + ns + ":" + sa
		for _, r := range eppRules {
			for _, verb := range []string{"get", "list", "watch"} {
				a := r
				a.Namespace, a.Verb = ns, verb
				if !allowed(t, user, ns, &a, nil) {
					t.Errorf("%s cannot %s %s.%s in %s", user, verb, r.Resource, r.Group, ns)
				}
			}
		}
		// The metrics endpoint reviews scrapers' tokens unless
		// --metrics-endpoint-auth=false.
		if v, _ := flagValue(eppContainer(d), "metrics-endpoint-auth"); v != "false" {
			for _, a := range []authzv1.ResourceAttributes{
				{Namespace: ns, Verb: "create", Group: "authentication.k8s.io", Resource: "tokenreviews"},
				{Namespace: ns, Verb: "create", Group: "authorization.k8s.io", Resource: "subjectaccessreviews"},
			} {
				if !allowed(t, user, ns, &a, nil) {
					t.Errorf("%s cannot create %s (metrics endpoint auth)", user, a.Resource)
				}
			}
		}
		// Leader election (components/ha) needs leases; without it, none.
		ha := hasBoolFlag(eppContainer(d), "ha-enable-leader-election")
		for _, verb := range []string{"get", "create", "update"} {
			a := authzv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: "coordination.k8s.io", Resource: "leases"}
			if got := allowed(t, user, ns, &a, nil); got != ha {
				t.Errorf("%s: %s leases allowed=%v, want %v (leader election on: %v)", user, verb, got, ha, ha)
			}
		}
		for _, a := range []authzv1.ResourceAttributes{
			{Namespace: ns, Verb: "update", Group: "inference.networking.k8s.io", Resource: "inferencepools"},
			{Namespace: ns, Verb: "delete", Resource: "pods"},
			{Namespace: ns, Verb: "get", Resource: "secrets"},
			{Namespace: "kube-system", Verb: "list", Resource: "pods"},
		} {
			if allowed(t, user, ns, &a, nil) {
				t.Errorf("%s may %s %s in %s: more than the EPP needs", user, a.Verb, a.Resource, a.Namespace)
			}
		}
	}
}

func allowed(t *testing.T, user, ns string, ra *authzv1.ResourceAttributes, nra *authzv1.NonResourceAttributes) bool {
	t.Helper()
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:                  user,
		Groups:                []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes:    ra,
		NonResourceAttributes: nra,
	}}
	if err := testClient.Create(ctx(t), sar); err != nil {
		t.Fatalf("SubjectAccessReview: %v", err)
	}
	return sar.Status.Allowed
}
