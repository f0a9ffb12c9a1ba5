package loader

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// gpuDefaultDataEnv names the labelled JSONL file of TestGPUDefaultAgreement
// (default ../shared/data/domain/dev.jsonl).
const gpuDefaultDataEnv = "SEMANTIC_EPP_PARITY_DATA"

// TestGPUDefaultAgreement compares the default on CUDA (modelDir embedded,
// device cuda: the GPU graph that GPUModelDirEnv names or the loader finds,
// with its ensemble) against the CPU default (the embedded int8 graph
// with its ensemble) over every line of the dev file: labels must agree on at
// least 99.5% of the texts and the accuracies on the gold labels must be
// within 0.5 points. The GPU side runs in batches of 64 as the micro-batcher
// would, padded to the longest text, so padding is part of what is compared.
func TestGPUDefaultAgreement(t *testing.T) {
	if os.Getenv("SEMANTIC_EPP_TEST_CUDA") != "1" {
		t.Skip("set SEMANTIC_EPP_TEST_CUDA=1 (and ONNXRUNTIME_LIB to the CUDA set, GPU graph from `make model-gpu`) on a GPU machine")
	}
	const device = "cuda"
	data := os.Getenv(gpuDefaultDataEnv)
	if data == "" {
		data = "../../../../shared/data/domain/dev.jsonl"
	}
	ctx := context.Background()
	cpu, err := Load(ctx, classifier.Config{Backend: classifier.BackendONNX})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cpu.Close() }()
	gpu, err := Load(ctx, classifier.Config{Backend: classifier.BackendONNX,
		Parameters: json.RawMessage(`{"device": "cuda", "cudaFallback": "fail"}`)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gpu.Close() }()
	if got := classifier.DeviceOf(gpu); got != device {
		t.Fatalf("GPU model runs on %q, want %q", got, device)
	}
	texts, gold := readLabelled(t, data)
	var agree, cpuRight, gpuRight int
	for i := 0; i < len(texts); i += 64 {
		chunk := texts[i:min(i+64, len(texts))]
		g, err := gpu.ClassifyBatch(ctx, chunk)
		if err != nil {
			t.Fatal(err)
		}
		for j, text := range chunk {
			c, err := cpu.Classify(ctx, text)
			if err != nil {
				t.Fatal(err)
			}
			if g[j].Label == c.Label {
				agree++
			}
			if c.Label == gold[i+j] {
				cpuRight++
			}
			if g[j].Label == gold[i+j] {
				gpuRight++
			}
		}
	}
	n := float64(len(texts))
	rate, cpuAcc, gpuAcc := float64(agree)/n, float64(cpuRight)/n, float64(gpuRight)/n
	t.Logf("%d texts on %s: label agreement %.4f, accuracy CPU default %.4f, GPU graph %.4f", len(texts), device, rate, cpuAcc, gpuAcc)
	if rate < 0.995 {
		t.Errorf("label agreement %.4f, want ≥ 0.995", rate)
	}
	if d := gpuAcc - cpuAcc; d < -0.005 || d > 0.005 {
		t.Errorf("accuracy differs by %.4f, want within 0.005", d)
	}
}

func readLabelled(t *testing.T, path string) (texts, labels []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("labelled data %s: %v", path, err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var row struct{ Text, Label string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		texts, labels = append(texts, row.Text), append(labels, row.Label)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(texts) == 0 {
		t.Fatalf("%s has no rows", path)
	}
	return texts, labels
}
