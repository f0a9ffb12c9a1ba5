// Package manifests renders and checks the Kubernetes manifests under deploy/
// and the container images' Dockerfiles. The tests in this package install
// the Gateway API, Inference Extension and Istio CRDs into a real
// kube-apiserver (envtest), apply every kustomization and check that the
// objects refer to each other correctly and that the EPP's RBAC grants what
// the GIE runner reads; see docs/deployment.md.
package manifests

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizationFiles are the names kustomize recognises.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Kustomizations returns every directory under root holding a
// kustomization that can be built on its own (Components cannot), sorted.
func Kustomizations(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		for _, name := range kustomizationFiles {
			if d.Name() != name {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("reading %s: %w", path, err)
			}
			var head struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal(b, &head); err != nil {
				return fmt.Errorf("parsing %s: %w", path, err)
			}
			if head.Kind != "Component" {
				dirs = append(dirs, filepath.Dir(path))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	sort.Strings(dirs)
	return dirs, nil
}

// RenderYAML builds the kustomization in dir as `kubectl kustomize dir` does
// (kustomize's default options: files only from inside each kustomization's
// folder, no plugins) and returns the YAML stream.
func RenderYAML(dir string) ([]byte, error) {
	m, err := build(dir)
	if err != nil {
		return nil, err
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: serialising: %w", dir, err)
	}
	return out, nil
}

// build runs kustomize on dir with its default options.
func build(dir string) (resmap.ResMap, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return m, nil
}
