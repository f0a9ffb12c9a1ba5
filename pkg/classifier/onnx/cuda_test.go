//go:build cgo

package onnx

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/go-logr/logr/testr"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// CUDATestEnv, set to 1, runs TestCUDAParity: on a machine with a GPU, with
// ONNXRUNTIME_LIB pointing at the CUDA library set (`make onnxruntime-cuda`).
const CUDATestEnv = "SEMANTIC_EPP_TEST_CUDA"

func cudaRequested() bool { return os.Getenv(CUDATestEnv) == "1" }

// TestCUDAParity checks the CUDA execution provider against the Python CPU
// reference, one text at a time and as a padded batch.
func TestCUDAParity(t *testing.T) {
	if !cudaRequested() {
		t.Skipf("set %s=1 (and %s to the CUDA library set) on a GPU machine", CUDATestEnv, LibraryEnv)
	}
	requireRuntime(t)
	c, err := Load(context.Background(), Options{Device: "cuda", CUDAFallback: "fail"}, os.DirFS("testdata/tiny"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if c.Device() != "cuda" {
		t.Fatalf("device %q", c.Device())
	}
	ref := readReference(t)
	var encs []tokenizer.Encoding
	for i, row := range ref.Rows {
		enc, _ := c.Encode(row.Text)
		encs = append(encs, enc)
		logits, err := c.run(context.Background(), []tokenizer.Encoding{enc})
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(logits[0], row.Logits, 1e-3) {
			t.Errorf("row %d: cuda logits %v, want %v", i, logits[0], row.Logits)
		}
	}
	batch, err := c.run(context.Background(), encs)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range batch {
		if !closeTo(l, ref.Rows[i].Logits, 1e-3) {
			t.Errorf("batch row %d: cuda logits %v, want %v", i, l, ref.Rows[i].Logits)
		}
	}
}

// TestCUDAModelAgreement checks a GPU model (SEMANTIC_EPP_CUDA_MODEL, e.g.
// the fp16 export) on CUDA against a reference model on the CPU
// (SEMANTIC_EPP_CPU_MODEL, the fp32 export) over the "text" of every line
// of SEMANTIC_EPP_PARITY_DATA (JSONL): labels must agree on at least 99.5%
// of the texts and no probability may move by more than 0.05.
func TestCUDAModelAgreement(t *testing.T) {
	gpuDir, cpuDir, data := os.Getenv("SEMANTIC_EPP_CUDA_MODEL"), os.Getenv("SEMANTIC_EPP_CPU_MODEL"), os.Getenv("SEMANTIC_EPP_PARITY_DATA")
	if !cudaRequested() || gpuDir == "" || cpuDir == "" || data == "" {
		t.Skipf("set %s=1, SEMANTIC_EPP_CUDA_MODEL, SEMANTIC_EPP_CPU_MODEL and SEMANTIC_EPP_PARITY_DATA", CUDATestEnv)
	}
	requireRuntime(t)
	ctx := context.Background()
	gpu, err := Load(ctx, Options{Device: "cuda", CUDAFallback: "fail"}, os.DirFS(gpuDir))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gpu.Close() }()
	cpu, err := Load(ctx, Options{}, os.DirFS(cpuDir))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cpu.Close() }()
	texts, _ := readRows(t, data, 0)
	var agree int
	var worst float64
	for _, text := range texts {
		g, err := gpu.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cpu.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		if g.Label == c.Label {
			agree++
		}
		for i := range g.Scores {
			worst = max(worst, math.Abs(float64(g.Scores[i]-c.Scores[i])))
		}
	}
	rate := float64(agree) / float64(len(texts))
	t.Logf("%d texts: label agreement %.4f, max |Δprobability| %.4f", len(texts), rate, worst)
	if rate < 0.995 || worst > 0.05 {
		t.Errorf("GPU model disagrees with the CPU reference: agreement %.4f (want ≥ 0.995), max |Δp| %.4f (want ≤ 0.05)", rate, worst)
	}
}

// TestCUDAGraphsMatchSession checks the CUDA graph path, with its inputs
// and outputs in mapped host memory and in device memory, against the plain
// session on the same GPU model (SEMANTIC_EPP_CUDA_MODEL) over the texts of
// SEMANTIC_EPP_PARITY_DATA, one at a time and in batches of 5 (run as the
// captured batch of 8): probabilities within 0.01, and labels differing on
// no more than one text in 1,000 (near-ties, at fp16's last bits).
func TestCUDAGraphsMatchSession(t *testing.T) {
	gpuDir, data := os.Getenv("SEMANTIC_EPP_CUDA_MODEL"), os.Getenv("SEMANTIC_EPP_PARITY_DATA")
	if !cudaRequested() || gpuDir == "" || data == "" {
		t.Skipf("set %s=1, SEMANTIC_EPP_CUDA_MODEL and SEMANTIC_EPP_PARITY_DATA", CUDATestEnv)
	}
	requireRuntime(t)
	// The load log says how the graphs were captured, or why not.
	ctx := log.IntoContext(context.Background(), testr.New(t))
	load := func(t *testing.T, graphs, memory string) *Classifier {
		c, err := Load(ctx, Options{Device: "cuda", CUDAFallback: "fail", CUDAGraphs: graphs, CUDAGraphMemory: memory}, os.DirFS(gpuDir))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	off := load(t, CUDAGraphsOff, "")
	if off.graphs != nil {
		t.Fatal("cudaGraphs off captured graphs")
	}
	texts, _ := readRows(t, data, 0)
	for _, memory := range []string{GraphMemoryMapped, GraphMemoryDevice} {
		t.Run(memory, func(t *testing.T) {
			on := load(t, CUDAGraphsOn, memory)
			if on.graphs == nil {
				t.Fatalf("CUDA graphs were not captured: %v", on.graphsErr)
			}
			var differ int
			var worst float64
			for _, size := range []int{1, 5} {
				for lo := 0; lo < len(texts); lo += size {
					batch := texts[lo:min(lo+size, len(texts))]
					g, err := on.ClassifyBatch(ctx, batch)
					if err != nil {
						t.Fatal(err)
					}
					p, err := off.ClassifyBatch(ctx, batch)
					if err != nil {
						t.Fatal(err)
					}
					for i := range g {
						if g[i].Label != p[i].Label {
							differ++
						}
						for j := range g[i].Scores {
							worst = max(worst, math.Abs(float64(g[i].Scores[j]-p[i].Scores[j])))
						}
					}
				}
			}
			t.Logf("%d texts ×2 (batch 1 and 5): %d labels differ, max |Δprobability| %.5f", len(texts), differ, worst)
			if differ > 2*len(texts)/1000 || worst > 0.01 {
				t.Errorf("CUDA graphs differ from the session: %d labels, max |Δp| %.5f (want ≤ 1 in 1,000 and ≤ 0.01)", differ, worst)
			}
		})
	}
}
