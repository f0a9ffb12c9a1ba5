package manifests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docFiles are the user documents whose commands must match deploy/.
var docFiles = []string{"../../docs/deployment.md", "../../docs/troubleshooting.md"}

// externalNames are objects the documents name that deploy/ does not hold:
// those of the original vLLM Semantic Router + llm-d guide (removed during
// the migration) and those the documented commands create themselves.
var externalNames = map[string]bool{
	"vsr-llama8b": true, "vsr-phi4-mini": true,
	"llm-d-inference-scheduler-llama3-8b": true, "llm-d-inference-scheduler-phi4-mini": true,
	"vllm-llama3-8b-instruct-epp": true, "vllm-phi4-mini-epp": true,
	"epp-llama-8b-insecure-tls": true, "epp-phi4-mini-insecure-tls": true,
	"llama-8b":        true, // the guide's llama Deployment, in the relabelling example
	"metrics-reader":  true, // created in troubleshooting.md
	"hf-token-secret": true, // created in deployment.md step 4
}

// kindAliases maps what kubectl accepts to kinds.
var kindAliases = map[string]string{
	"deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
	"svc": "Service", "service": "Service", "services": "Service", "endpoints": "Service",
	"inferencepool": "InferencePool", "inferencepools": "InferencePool",
	"httproute": "HTTPRoute", "httproutes": "HTTPRoute",
	"gateway": "Gateway", "gateways": "Gateway",
	"destinationrule": "DestinationRule", "destinationrules": "DestinationRule",
	"serviceaccount": "ServiceAccount", "clusterrole": "ClusterRole", "configmap": "ConfigMap",
}

var (
	codeBlock   = regexp.MustCompile("(?s)```(?:bash|sh)?\n(.*?)```")
	pathRef     = regexp.MustCompile(`(?:^|\s)-[kf]\s+(deploy/[^\s]+)`)
	slashRef    = regexp.MustCompile(`^(deployment|deploy|svc|service)/([a-z0-9-]+)$`)
	verbRef     = regexp.MustCompile(`kubectl (?:get|describe|delete|patch|rollout status) ([a-z]+) ([a-z0-9][a-z0-9 -]*)`)
	labelRef    = regexp.MustCompile(`-l ([a-z0-9./-]+)=([a-z0-9.-]+)`)
	roleRef     = regexp.MustCompile(`--clusterrole=([a-z0-9-]+)`)
	makeCommand = regexp.MustCompile(`(?m)^make ([a-z][a-z0-9-]*)((?: [A-Z_]+=[^\s]+)*)`)
)

// TestDocsMatchManifests: the kustomizations, files, objects, labels and
// make targets the deployment guide and troubleshooting page name exist.
func TestDocsMatchManifests(t *testing.T) {
	dirs, err := Kustomizations(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	buildable := map[string]bool{}
	objects := map[string]map[string]bool{} // kind -> names, over all renderings
	labels := map[string]bool{}             // key=value of pod templates
	for _, d := range dirs {
		rel, _ := filepath.Rel(repoRoot, d)
		buildable[filepath.ToSlash(rel)] = true
		objs, err := Render(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if objects[o.GetKind()] == nil {
				objects[o.GetKind()] = map[string]bool{}
			}
			objects[o.GetKind()][o.GetName()] = true
			if o.GetKind() == "Gateway" { // Istio's generated Deployment and Service
				for _, k := range []string{"Deployment", "Service"} {
					if objects[k] == nil {
						objects[k] = map[string]bool{}
					}
					objects[k][o.GetName()+"-istio"] = true
				}
			}
			if o.GetKind() == "Deployment" {
				for k, v := range podLabels(o) {
					labels[k+"="+v] = true
				}
			}
		}
	}
	checkName := func(t *testing.T, doc, kind, name string) {
		t.Helper()
		if externalNames[name] || objects[kind][name] {
			return
		}
		t.Errorf("%s names %s %q, which no kustomization under deploy/ holds", doc, kind, name)
	}
	for _, doc := range docFiles {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(doc)
		for _, blk := range codeBlock.FindAllStringSubmatch(string(b), -1) {
			for _, line := range strings.Split(blk[1], "\n") {
				if strings.Contains(line, "semantic-router checkout") || strings.Contains(line, "in its checkout") {
					continue
				}
				if i := strings.Index(line, " #"); i >= 0 {
					line = line[:i]
				}
				for _, m := range pathRef.FindAllStringSubmatch(line, -1) {
					p := strings.TrimSuffix(m[1], "/")
					if strings.Contains(line, " -k ") && !buildable[p] {
						t.Errorf("%s: `%s`: %s is not a kustomization under deploy/", name, strings.TrimSpace(line), p)
					}
					if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
						t.Errorf("%s: `%s`: %s does not exist", name, strings.TrimSpace(line), p)
					}
				}
				for _, tok := range strings.Fields(line) {
					if _, err := os.Stat(filepath.Join(repoRoot, tok)); err == nil {
						continue // a path such as deploy/base, not deploy/<name>
					}
					if m := slashRef.FindStringSubmatch(tok); m != nil {
						checkName(t, name, kindAliases[m[1]], m[2])
					}
				}
				for _, m := range verbRef.FindAllStringSubmatch(line, -1) {
					kind, ok := kindAliases[m[1]]
					if !ok {
						continue // pods, crds, …: generated names
					}
					for _, n := range strings.Fields(m[2]) {
						if strings.HasPrefix(n, "-") {
							break // flags follow the names
						}
						checkName(t, name, kind, n)
					}
				}
				for _, m := range labelRef.FindAllStringSubmatch(line, -1) {
					if !labels[m[1]+"="+m[2]] {
						t.Errorf("%s: `%s`: no pod template has the label %s=%s", name, strings.TrimSpace(line), m[1], m[2])
					}
				}
				for _, m := range roleRef.FindAllStringSubmatch(line, -1) {
					checkName(t, name, "ClusterRole", m[1])
				}
			}
			for _, m := range makeCommand.FindAllStringSubmatch(blk[1], -1) {
				args := append([]string{"-n", m[1]}, strings.Fields(m[2])...)
				cmd := exec.Command("make", args...)
				cmd.Dir = repoRoot
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s: `make %s%s` is not a working target: %v\n%s", name, m[1], m[2], err, tail(string(out), 500))
				}
			}
		}
	}
}
