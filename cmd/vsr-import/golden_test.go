package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const vsrData = "../../../shared/data/vsr"

// TestGolden converts every YAML file under ../shared/data/vsr/ and compares
// the config, the report and any error with testdata/<path>.{yaml,report,error}.
// Run with -update to rewrite them after an intended change.
func TestGolden(t *testing.T) {
	if _, err := os.Stat(vsrData); err != nil {
		t.Skipf("%s is missing (the vLLM Semantic Router fixtures live outside the repository): %v", vsrData, err)
	}
	var files []string
	err := filepath.WalkDir(vsrData, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no YAML file under %s", vsrData)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(vsrData, f)
		t.Run(rel, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Join("testdata", strings.TrimSuffix(rel, ".yaml"))
			out, rep, err := Convert(src)
			if err != nil {
				golden(t, base+".error", []byte(err.Error()+"\n"))
				return
			}
			golden(t, base+".yaml", out)
			golden(t, base+".report", []byte(strings.Join(rep.Lines, "\n")+"\n"))
		})
	}
}

// TestGoldenComposed converts fragments together, as the router composes
// them: the keyword and domain signals with the decisions that use them.
func TestGoldenComposed(t *testing.T) {
	if _, err := os.Stat(vsrData); err != nil {
		t.Skipf("%s is missing (the vLLM Semantic Router fixtures live outside the repository): %v", vsrData, err)
	}
	var srcs [][]byte
	for _, f := range []string{"signal-domain-mmlu", "signal-keyword-regex", "decision-and-urgent-business", "decision-or-business-or-law"} {
		src, err := os.ReadFile(filepath.Join(vsrData, "fragments", f+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	merged, err := Merge(srcs...)
	if err != nil {
		t.Fatal(err)
	}
	out, rep, err := Convert(merged)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("name: urgent_business_route")) {
		t.Error("the composed decision urgent_business_route was not translated")
	}
	golden(t, filepath.Join("testdata", "composed", "urgent-business.yaml"), out)
	golden(t, filepath.Join("testdata", "composed", "urgent-business.report"), []byte(strings.Join(rep.Lines, "\n")+"\n"))
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test ./cmd/vsr-import -update)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./cmd/vsr-import -update after an intended change):\n%s", path, got)
	}
}
