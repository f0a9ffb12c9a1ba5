package manifests

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

// The images cannot be built here (no Docker engine), so these tests tie
// each Dockerfile to the make targets its build stage runs: the targets
// exist, their recipes produce every file the image copies, and the cheap
// ones, run for real, do produce them.

const repoRoot = "../.."

type imageCase struct {
	file string
	// run: the build stage's make targets are cheap enough to run here
	// (the CUDA library set is 300 MB: checked only if already fetched).
	run bool
	// libs: files that must land beside libonnxruntime.so.1.
	libs []string
}

var imageCases = []imageCase{
	{file: "Dockerfile", run: true},
	{file: "Dockerfile.cuda", libs: []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"}},
}

// builderMake returns the build stage's WORKDIR and the arguments of its
// `RUN make ...` instructions (targets, plus VAR=value overrides whose value
// is not a build argument).
func builderMake(t *testing.T, df *Dockerfile) (workdir string, targets, vars []string) {
	t.Helper()
	b := df.Stage("builder")
	if b == nil {
		t.Fatalf("%s: no stage named builder", df.Path)
	}
	for _, in := range b.Instructions {
		switch in.Cmd {
		case "WORKDIR":
			workdir = in.Args
		case "RUN":
			fields := strings.Fields(in.Args)
			if len(fields) == 0 || fields[0] != "make" {
				continue
			}
			for _, f := range fields[1:] {
				if strings.Contains(f, "=") {
					if !strings.Contains(f, "${") && !strings.Contains(f, "$(") {
						vars = append(vars, f)
					}
					continue
				}
				targets = append(targets, f)
			}
		}
	}
	if workdir == "" || len(targets) == 0 {
		t.Fatalf("%s: the builder stage has no WORKDIR or no `RUN make <targets>`", df.Path)
	}
	return workdir, targets, vars
}

// copiedFromBuilder returns the final stage's COPY --from=builder pairs as
// (path relative to the builder's WORKDIR, destination).
func copiedFromBuilder(t *testing.T, df *Dockerfile, workdir string) [][2]string {
	t.Helper()
	var out [][2]string
	for _, in := range df.Final().Each("COPY") {
		c, err := ParseCopy(in)
		if err != nil {
			t.Fatalf("%s: %v", df.Path, err)
		}
		if c.From != "builder" {
			t.Errorf("%s:%d: the image copies %v from %q; only build outputs (--from=builder) belong in it", df.Path, in.Line, c.Srcs, c.From)
			continue
		}
		for _, s := range c.Srcs {
			rel, ok := strings.CutPrefix(path.Clean(s), path.Clean(workdir)+"/")
			if !ok {
				t.Errorf("%s:%d: %s is outside the builder's WORKDIR %s", df.Path, in.Line, s, workdir)
				continue
			}
			out = append(out, [2]string{rel, c.Dst})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: the final stage copies nothing from the builder", df.Path)
	}
	return out
}

// localPath maps a path of the builder's checkout to this checkout, with
// bin/ redirected to binDir (the test's BIN).
func localPath(rel, binDir string) string {
	if rest, ok := strings.CutPrefix(rel, "bin/"); ok {
		return filepath.Join(binDir, rest)
	}
	abs, _ := filepath.Abs(filepath.Join(repoRoot, rel))
	return abs
}

func runMake(t *testing.T, args ...string) string {
	t.Helper()
	return runMakeIn(t, repoRoot, args...)
}

func runMakeIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestDockerfilesCopyWhatMakeBuilds: every file an image copies from its
// build stage is produced by the make targets that stage runs.
func TestDockerfilesCopyWhatMakeBuilds(t *testing.T) {
	for _, tc := range imageCases {
		t.Run(tc.file, func(t *testing.T) {
			df, err := ParseDockerfile(filepath.Join(repoRoot, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			workdir, targets, vars := builderMake(t, df)
			copies := copiedFromBuilder(t, df, workdir)
			binDir := t.TempDir()
			args := append(append([]string{}, targets...), vars...)
			args = append(args, "BIN="+binDir)
			// -n -B: print every recipe the targets would run, from scratch,
			// running none; fails on an unknown target.
			plan := runMake(t, append([]string{"-n", "-B"}, args...)...)
			for _, cp := range copies {
				p := localPath(cp[0], binDir)
				named := strings.Contains(plan, p+" ") || strings.Contains(plan, p+"\n") || strings.Contains(plan, p+".tmp")
				// A file moved by a wildcard: its folder is a destination and
				// its name appears in the recipe (the archive member extracted).
				wild := strings.Contains(plan, filepath.Dir(p)+"/") && strings.Contains(plan, "/"+filepath.Base(p))
				if !named && !wild {
					t.Errorf("%s copies %s, which `make %s` does not produce (planned recipes:\n%s)", tc.file, cp[0], strings.Join(targets, " "), plan)
				}
			}
			if !tc.run {
				// Only a checkout where `make image-files-cuda` ran has its outputs: the CUDA
				// download alone (a GPU benchmark's staging fetches it) does not build the GPU graph.
				for _, done := range []string{filepath.Join("onnxruntime-cuda", ".complete"), filepath.Join("models", "gpu", "domain-minilm", "model.onnx")} {
					if _, err := os.Stat(filepath.Join(repoRoot, ".cache", done)); err != nil {
						t.Logf("not running `make %s` (large download) and .cache/%s is absent; checked its recipes only", strings.Join(targets, " "), done)
						return
					}
				}
			}
			if tc.run {
				// As the image build runs it: in a copy of the build context
				// (.dockerignore applied), with the ONNX Runtime download
				// taken from this checkout's cache.
				ctxDir := buildContext(t)
				binDir = filepath.Join(ctxDir, "bin")
				cacheDir, _ := filepath.Abs(filepath.Join(repoRoot, ".cache"))
				runMakeIn(t, ctxDir, append(append(append([]string{}, targets...), vars...), "CACHE_DIR="+cacheDir)...)
			}
			for _, cp := range copies {
				p := localPath(cp[0], binDir)
				if tc.run || !strings.HasPrefix(cp[0], "bin/") {
					st, err := os.Stat(p)
					if err != nil || st.Size() == 0 {
						t.Errorf("after `make %s`, %s (copied to %s) is missing or empty: %v", strings.Join(targets, " "), p, cp[1], err)
					}
				}
			}
		})
	}
}

// TestImagesAreDropIns: the images run /epp as the upstream EPP image does,
// expose its ports, run as a non-root user, and put ONNX Runtime (and, for
// CUDA, its providers) where pkg/classifier/onnx finds it.
func TestImagesAreDropIns(t *testing.T) {
	for _, tc := range imageCases {
		t.Run(tc.file, func(t *testing.T) {
			df, err := ParseDockerfile(filepath.Join(repoRoot, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			final := df.Final()
			eps := final.Each("ENTRYPOINT")
			if len(eps) != 1 {
				t.Fatalf("want one ENTRYPOINT, have %d", len(eps))
			}
			ep, err := ExecForm(eps[0])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ep, []string{"/epp"}) {
				t.Errorf("ENTRYPOINT %v, want [/epp] as the upstream EPP image", ep)
			}
			var exposed []string
			for _, in := range final.Each("EXPOSE") {
				exposed = append(exposed, strings.Fields(in.Args)...)
			}
			for _, p := range []string{"9002", "9003", "9090"} {
				if !slices.Contains(exposed, p) {
					t.Errorf("port %s is not exposed", p)
				}
			}
			users := final.Each("USER")
			if len(users) == 0 {
				t.Fatal("no USER: the image would run as root")
			}
			u, _, _ := strings.Cut(users[len(users)-1].Args, ":")
			if u == "0" || u == "root" || u == "" {
				t.Errorf("USER %q is root", users[len(users)-1].Args)
			}
			_, _, _ = builderMake(t, df)
			dsts := map[string]bool{}
			for _, cp := range copiedFromBuilder(t, df, "/src") {
				dsts[cp[1]] = true
			}
			if !dsts["/epp"] {
				t.Error("bin/epp is not copied to /epp")
			}
			if !dsts[onnx.SystemLibraryPath] {
				t.Errorf("libonnxruntime is not copied to %s, where the onnx backend looks", onnx.SystemLibraryPath)
			}
			for _, lib := range tc.libs {
				if want := path.Join(path.Dir(onnx.SystemLibraryPath), lib); !dsts[want] {
					t.Errorf("%s is not copied to %s (beside libonnxruntime, where ONNX Runtime loads providers)", lib, want)
				}
			}
		})
	}
}

// buildContext copies what `docker build .` sends as the build context:
// every file under the repository root that .dockerignore does not exclude.
func buildContext(t *testing.T) string {
	t.Helper()
	ign, err := ReadDockerignore(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(repoRoot)
	dst := t.TempDir()
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if ign.Excludes(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying the build context: %v", err)
	}
	return dst
}

// TestDockerignoreKeepsBuildInputs: the build context keeps what the make
// targets read and drops local build outputs.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	ign, err := ReadDockerignore(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"go.mod", "go.sum", "Makefile", "mk/deploy.mk", "mk/onnxruntime.mk", "mk/go.mk", "cmd/epp/main.go", "pkg/plugins", "models/embed.go", "models/domain-linear/weights.bin", "models/domain-linear/lexicon.bin",
		"training/domainclf/gpugraph.py", "training/domainclf/gpufuse.py", "training/requirements-gpugraph.txt"} {
		if ign.Excludes(p) {
			t.Errorf(".dockerignore drops %s, which the image build needs", p)
		}
	}
	for _, p := range []string{".cache/onnxruntime/libonnxruntime.so.1", "bin/epp", ".git/HEAD", "pkg/x/y.test", "training/.venv/bin/python"} {
		if !ign.Excludes(p) {
			t.Errorf(".dockerignore keeps %s: host build outputs would leak into the image build", p)
		}
	}
}
