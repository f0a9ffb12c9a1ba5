package manifests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// CRD sources, read from the Go module cache (mk/deploy.mk downloads them;
// its exported MANIFESTS_*_MODULE variables override these defaults).
const (
	// GIE v1.5.0's own manifest checks (hack/verify-manifests.sh) install
	// Gateway API v1.3.0; GIE does not require the module itself.
	defaultGatewayAPIModule = "sigs.k8s.io/gateway-api@v1.3.0"
	defaultIstioAPIModule   = "istio.io/api@v1.28.0"
	gieModule               = "sigs.k8s.io/gateway-api-inference-extension"
)

var (
	testCfg    *rest.Config
	testClient client.Client
)

// TestMain starts one kube-apiserver + etcd (envtest, binaries from
// KUBEBUILDER_ASSETS, which `make tools` builds) with the CRDs installed.
func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	paths, err := crdPaths()
	if err != nil {
		fmt.Fprintln(os.Stderr, "manifests test:", err)
		return 1
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		// The folder `make tools` fills; `make test` exports it already.
		if dir, err := filepath.Abs("../../.cache/tools/bin"); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err == nil {
				_ = os.Setenv("KUBEBUILDER_ASSETS", dir)
			}
		}
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "manifests test: no kube-apiserver/etcd: run `make tools` or set KUBEBUILDER_ASSETS")
		return 1
	}
	env := &envtest.Environment{
		CRDInstallOptions:     envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "manifests test: starting envtest (KUBEBUILDER_ASSETS="+os.Getenv("KUBEBUILDER_ASSETS")+"):", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "manifests test: stopping envtest:", err)
		}
	}()
	testCfg = cfg
	testClient, err = client.New(cfg, client.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "manifests test: client:", err)
		return 1
	}
	return m.Run()
}

// crdPaths returns the CRD files and folders to install: GIE's
// config/crd/bases, Gateway API's config/crd/standard and Istio's generated
// CRD bundle.
func crdPaths() ([]string, error) {
	gie, err := moduleDir(gieModule, false)
	if err != nil {
		return nil, err
	}
	gw, err := moduleDir(envOr("MANIFESTS_GATEWAY_API_MODULE", defaultGatewayAPIModule), true)
	if err != nil {
		return nil, err
	}
	istio, err := moduleDir(envOr("MANIFESTS_ISTIO_API_MODULE", defaultIstioAPIModule), true)
	if err != nil {
		return nil, err
	}
	return []string{
		filepath.Join(gie, "config", "crd", "bases"),
		filepath.Join(gw, "config", "crd", "standard"),
		filepath.Join(istio, "kubernetes", "customresourcedefinitions.gen.yaml"),
	}, nil
}

// moduleDir returns a module's folder in the module cache: a module of this
// build's graph (go list), or, with download, module@version fetched through
// the module proxy if it is not cached yet (go.mod is not changed).
func moduleDir(mod string, download bool) (string, error) {
	args := []string{"list", "-m", "-json", mod}
	if download {
		args = []string{"mod", "download", "-json", mod}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		detail := ""
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			detail = string(ee.Stderr)
		}
		return "", fmt.Errorf("locating module %s (go %v): %w %s%s", mod, args, err, detail, string(out))
	}
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("locating module %s: parsing go output: %w", mod, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("locating module %s: %q (run `make manifests-crds`)", mod, info.Error)
	}
	return info.Dir, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// ctx is the context of API calls in tests.
func ctx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}
