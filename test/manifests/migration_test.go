package manifests

import (
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// migrationSteps are the kustomizations docs/deployment.md applies, in
// order, into one namespace to move from two hops to one hop; at the end of
// step 2 they all run side by side.
var migrationSteps = []string{
	"overlays/two-hop/llama3-8b", "overlays/two-hop/phi4-mini", "overlays/two-hop/routing", // step 1
	"base", "inferencepool", // step 2
}

// TestMigrationStepsCoexist: the two-hop objects and the one-hop objects
// share a namespace without overwriting each other, every reference still
// resolves, and all three EPPs start with their own service accounts.
func TestMigrationStepsCoexist(t *testing.T) {
	const ns = "migration"
	createNamespace(t, ns)
	owner := map[string]string{} // kind/name -> kustomization
	var all []*unstructured.Unstructured
	for _, step := range migrationSteps {
		for _, o := range renderInNamespace(t, filepath.Join(deployDir, step), ns) {
			id := o.GetKind() + "/" + o.GetName()
			if prev, ok := owner[id]; ok {
				t.Errorf("%s is defined by both %s and %s: applying one overwrites the other", id, prev, step)
			}
			owner[id] = step
			if err := applyObject(t, o); err != nil {
				t.Fatalf("%s: applying %s: %v", step, id, err)
			}
			all = append(all, o)
		}
	}
	set := newObjectSet(all)
	if n := len(set["InferencePool"]); n != 3 {
		t.Errorf("%d InferencePools side by side, want 3 (two per-model, one fused)", n)
	}
	checkReferences(t, set)
	checkEPPDeployments(t, set)
	checkRBAC(t, set, ns)
	if t.Failed() {
		return
	}
	bin := eppBinary(t)
	for _, d := range set.eppDeployments() {
		t.Run(d.GetName(), func(t *testing.T) { runEPP(t, bin, set, d, ns) })
	}
}
