package integration

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/gateway-api-inference-extension/cmd/epp/runner"
	fwkplugin "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/framework/interface/plugin"
	runserver "sigs.k8s.io/gateway-api-inference-extension/pkg/epp/server"

	"github.com/semantic-epp/semantic-epp/pkg/plugins"
)

const gieModule = "sigs.k8s.io/gateway-api-inference-extension"

// rejectedConfig is a config the upstream loader refuses to parse: the
// runner's setup registers its in-tree plugins and feature gates, then stops
// at it, before it needs an API server.
const rejectedConfig = "{not an EndpointPickerConfig"

// registered records the plugin types the runner registered and those of
// ours it did not, for TestHarnessRegistersWhatTheRunnerRegisters.
var registered struct {
	ours, runner map[string]bool
}

// registerPlugins registers the plugins exactly as cmd/epp does: ours
// (plugins.RegisterAll), then the upstream runner's in-tree plugins and
// feature gates. The runner's list is not exported, so they are registered
// by the runner's own test entry point, runner.NewTestRunnerSetup, given a
// config it rejects right after registering. Its full setup would also need
// a kube-apiserver (envtest) and does not expose the plugin handle the
// tests read.
func registerPlugins() error {
	plugins.RegisterAll()
	ours := fwkplugin.Registry
	// The runner registers into an empty registry so that its set is known;
	// ours are then added back except where the runner registered the same
	// type, whose factory wins as in the binary (the runner registers last).
	fwkplugin.Registry = map[string]fwkplugin.FactoryFunc{}
	opts := runserver.NewOptions()
	opts.ConfigText = rejectedConfig
	_, _, err := runner.NewTestRunnerSetup(context.Background(), nil, opts, nil, nil)
	if err == nil {
		return fmt.Errorf("runner setup accepted %q; it can no longer be used to register the in-tree plugins", rejectedConfig)
	}
	if len(fwkplugin.Registry) == 0 {
		return fmt.Errorf("runner setup failed before registering any plugin: %w", err)
	}
	registered.runner = map[string]bool{}
	for typ := range fwkplugin.Registry {
		registered.runner[typ] = true
	}
	registered.ours = map[string]bool{}
	for typ, f := range ours {
		if !registered.runner[typ] {
			fwkplugin.Registry[typ] = f
			registered.ours[typ] = true
		}
	}
	return nil
}

// TestHarnessRegistersWhatTheRunnerRegisters reads the runner's source in the
// module cache (the GIE version go.mod pins) and checks that the harness
// registered exactly the plugin types of its registerInTreePlugins, so the
// in-process tests load configs the way the binary does after an upgrade.
func TestHarnessRegistersWhatTheRunnerRegisters(t *testing.T) {
	want, err := runnerPluginTypes()
	if err != nil {
		t.Fatal(err)
	}
	got := registered.runner
	for _, typ := range slices.Sorted(maps.Keys(want)) {
		if !got[typ] {
			t.Errorf("the runner registers %q, the harness does not", typ)
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(got)) {
		if !want[typ] {
			t.Errorf("the harness registers %q as the runner's, the runner's source does not", typ)
		}
	}
	if len(registered.ours) == 0 {
		t.Error("plugins.RegisterAll registered nothing")
	}
}

// runnerPluginTypes parses cmd/epp/runner/runner.go of the GIE module and
// returns the plugin type of every fwkplugin.Register call in
// registerInTreePlugins, resolving each `pkg.Const` argument to the string
// constant declared in that GIE package.
func runnerPluginTypes() (map[string]bool, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", gieModule).Output()
	if err != nil {
		return nil, fmt.Errorf("locating %s in the module cache: %w", gieModule, err)
	}
	modDir := strings.TrimSpace(string(out))
	fset := token.NewFileSet()
	path := filepath.Join(modDir, "cmd", "epp", "runner", "runner.go")
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parsing the runner: %w", err)
	}
	imports := map[string]string{} // local name -> import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := filepath.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		imports[name] = p
	}
	var fn *ast.FuncDecl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "registerInTreePlugins" {
			fn = fd
		}
	}
	if fn == nil {
		return nil, fmt.Errorf("%s: no registerInTreePlugins", path)
	}
	types := map[string]bool{}
	var walkErr error
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || walkErr != nil {
			return walkErr == nil
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Register" || len(call.Args) != 2 {
			return true
		}
		arg, ok := call.Args[0].(*ast.SelectorExpr)
		pkg, _ := arg.X.(*ast.Ident)
		if !ok || pkg == nil || !strings.HasPrefix(imports[pkg.Name], gieModule+"/") {
			walkErr = fmt.Errorf("%s: Register(%s): not a constant of a GIE package", fset.Position(call.Pos()), exprString(call.Args[0]))
			return false
		}
		dir := filepath.Join(modDir, strings.TrimPrefix(imports[pkg.Name], gieModule+"/"))
		v, err := stringConst(dir, arg.Sel.Name)
		if err != nil {
			walkErr = fmt.Errorf("%s: %w", fset.Position(call.Pos()), err)
			return false
		}
		types[v] = true
		return true
	})
	if walkErr != nil {
		return nil, walkErr
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%s: registerInTreePlugins registers nothing", path)
	}
	return types, nil
}

// stringConst returns the value of the string constant name declared in the
// Go package in dir.
func stringConst(dir, name string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", fmt.Errorf("listing %s: %w", dir, err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			return "", fmt.Errorf("parsing %s: %w", file, err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if id.Name != name || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						return "", fmt.Errorf("%s.%s is not a string literal", dir, name)
					}
					return strconv.Unquote(lit.Value)
				}
			}
		}
	}
	return "", fmt.Errorf("no constant %s in %s", name, dir)
}

func exprString(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		return exprString(sel.X) + "." + sel.Sel.Name
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return fmt.Sprintf("%T", e)
}
