// Command render writes every kustomization under a folder (default deploy/)
// as one YAML file per kustomization, like `kubectl kustomize`, so the
// manifests can be read or applied without kustomize installed.
//
//	go run ./test/manifests/cmd/render -out .cache/manifests deploy
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/semantic-epp/semantic-epp/test/manifests"
)

func main() {
	out := flag.String("out", ".cache/manifests", "output folder")
	flag.Parse()
	root := "deploy"
	if flag.NArg() > 0 {
		root = flag.Arg(0)
	}
	if err := run(root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(root, out string) error {
	dirs, err := manifests.Kustomizations(root)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return fmt.Errorf("no kustomization under %s", root)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", out, err)
	}
	for _, dir := range dirs {
		b, err := manifests.RenderYAML(dir)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return fmt.Errorf("naming %s: %w", dir, err)
		}
		name := strings.ReplaceAll(rel, string(filepath.Separator), "_") + ".yaml"
		path := filepath.Join(out, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		fmt.Printf("%s -> %s\n", dir, path)
	}
	return nil
}
