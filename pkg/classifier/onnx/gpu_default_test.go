//go:build cgo

package onnx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/batching"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/ensemble"
)

// TestGPUDefaultAgreement compares the default on CUDA (modelDir embedded,
// device cuda: the GPU graph that GPUModelDirEnv names or the backend finds,
// with its ensemble and refinement) against the CPU default (the embedded
// int8 graph with its ensemble) over every line of SEMANTIC_EPP_PARITY_DATA:
// labels must agree on at least 99.5% of the texts and the accuracies on
// the gold labels must be within 0.5 points. The GPU side runs both one text
// at a time (the CUDA graphs) and in batches of 64 as the micro-batcher
// would, padded to the longest text.
func TestGPUDefaultAgreement(t *testing.T) {
	data := os.Getenv("SEMANTIC_EPP_PARITY_DATA")
	if !cudaRequested() || data == "" {
		t.Skipf("set %s=1, SEMANTIC_EPP_PARITY_DATA (and %s to the CUDA set, the GPU graphs from `make model-gpu`) on a GPU machine",
			CUDATestEnv, LibraryEnv)
	}
	requireRuntime(t)
	ctx := context.Background()
	load := func(raw string) classifier.Classifier {
		c, err := Factory(ctx, []byte(raw), classifier.FactoryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	cpu := load(`{}`)
	gpu := load(fmt.Sprintf(`{"device": "cuda", "cudaFallback": "fail"%s%s}`, attentionParam(os.Getenv("BENCH_ATTENTION")),
		graphMemoryParam(os.Getenv("BENCH_GRAPH_MEMORY"))))
	if got := classifier.DeviceOf(gpu); got != DeviceCUDA {
		t.Fatalf("GPU default runs on %q, want cuda", got)
	}
	texts, gold := readRows(t, data, 0)
	want := make([]string, len(texts))
	var cpuRight int
	for i, text := range texts {
		c, err := cpu.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		if want[i] = c.Label; c.Label == gold[i] {
			cpuRight++
		}
	}
	n := float64(len(texts))
	for _, size := range []int{1, 64} {
		refined0 := testutil.ToFloat64(refinementsRefined())
		var agree, right int
		for lo := 0; lo < len(texts); lo += size {
			g, err := gpu.ClassifyBatch(ctx, texts[lo:min(lo+size, len(texts))])
			if err != nil {
				t.Fatal(err)
			}
			for j, r := range g {
				if r.Label == want[lo+j] {
					agree++
				}
				if r.Label == gold[lo+j] {
					right++
				}
			}
		}
		rate, cpuAcc, gpuAcc := float64(agree)/n, float64(cpuRight)/n, float64(right)/n
		t.Logf("%d texts, GPU batches of %d: label agreement %.4f, accuracy CPU default %.4f, GPU default %.4f; %.4f refined",
			len(texts), size, rate, cpuAcc, gpuAcc, (testutil.ToFloat64(refinementsRefined())-refined0)/n)
		if rate < 0.995 {
			t.Errorf("batches of %d: label agreement %.4f, want ≥ 0.995", size, rate)
		}
		if d := gpuAcc - cpuAcc; d < -0.005 || d > 0.005 {
			t.Errorf("batches of %d: accuracy differs by %.4f, want within 0.005", size, d)
		}
	}
}

// refinementsRefined is the ensemble's counter of refined texts.
func refinementsRefined() prometheus.Counter {
	return ensemble.Collectors()[0].(*prometheus.CounterVec).WithLabelValues("refined")
}

// BenchmarkGPUDefault runs the default as the EPP does on CUDA (modelDir
// embedded, device cuda: the GPU graph, its ensemble and refinement, each
// ONNX model micro-batched with batches of up to BENCH_MAX_BATCH, default
// 512, and BatchWorkers workers, or BENCH_WORKERS; BENCH_SESSIONS sessions)
// on the texts of SEMANTIC_EPP_PARITY_DATA from BENCH_CONCURRENCY callers
// (default 1, 1,024 and 4,096): texts/s, and at one caller the latency
// percentiles. BENCH_ATTENTION, a comma-separated list of attentionKernel
// values, runs each side by side (default: the default kernel);
// BENCH_PACE, a comma-separated list of durations ("busy:" first for a
// caller that spins through its pause), adds one caller pausing that long
// between calls; BENCH_SPIN, a list of threadSpin values, and
// BENCH_GRAPH_MEMORY, a list of cudaGraphMemory values, run each side by
// side. TestGPUDefaultAgreement takes one BENCH_ATTENTION and one
// BENCH_GRAPH_MEMORY value.
func BenchmarkGPUDefault(b *testing.B) {
	data := os.Getenv("SEMANTIC_EPP_PARITY_DATA")
	if !cudaRequested() || data == "" {
		b.Skipf("set %s=1 and SEMANTIC_EPP_PARITY_DATA on a GPU machine", CUDATestEnv)
	}
	requireRuntime(b)
	maxBatch := 512
	if n, _ := strconv.Atoi(os.Getenv("BENCH_MAX_BATCH")); n > 0 {
		maxBatch = n
	}
	texts := readTexts(b, data)
	concs := []int{1, 1024, 4096}
	if os.Getenv("BENCH_CONCURRENCY") != "" {
		concs = benchConcurrency()
	}
	paces := []pause{{}}
	for _, p := range strings.Split(os.Getenv("BENCH_PACE"), ",") {
		if d, err := parsePause(p); err == nil && d.d > 0 {
			paces = append(paces, d)
		}
	}
	for _, conc := range concs {
		for _, prepare := range benchPrepare() {
			for _, v := range gpuVariants(paces) {
				if v.pace.d > 0 && conc != 1 {
					continue
				}
				b.Run(fmt.Sprintf("conc=%d%s%s", conc, prepareName(prepare), v.name), func(b *testing.B) {
					opts := classifier.FactoryOptions{Batch: func(c classifier.Classifier, workers int) classifier.Classifier {
						if !prepare {
							c = unprepared{c}
						}
						if w, _ := strconv.Atoi(os.Getenv("BENCH_WORKERS")); w > 0 {
							workers = w
						}
						return batching.New(c, batching.Options{MaxBatchSize: maxBatch, MaxBatchWait: time.Millisecond, Workers: workers})
					}}
					sessions, _ := strconv.Atoi(os.Getenv("BENCH_SESSIONS"))
					loadStart := time.Now()
					c, err := Factory(context.Background(), fmt.Appendf(nil, `{"device": "cuda", "cudaFallback": "fail", "sessions": %d%s}`,
						sessions, v.params), opts)
					if err != nil {
						b.Fatal(err)
					}
					defer func() { _ = c.Close() }()
					loaded := time.Since(loadStart)
					pacedCallers(b, c, conc, func(i int) string { return texts[i%len(texts)] }, conc == 1, v.pace)
					b.ReportMetric(loaded.Seconds(), "load-s")
				})
			}
		}
	}
}

// gpuVariant is one configuration BenchmarkGPUDefault runs side by side
// with the others: its name suffix, its extra JSON parameters and the
// pause of its one caller.
type gpuVariant struct {
	name, params string
	pace         pause
}

// gpuVariants are BENCH_ATTENTION's kernels × BENCH_SPIN's spins ×
// BENCH_GRAPH_MEMORY's memory kinds × paces.
func gpuVariants(paces []pause) []gpuVariant {
	out := []gpuVariant{{}}
	for _, axis := range []struct {
		env, key string
		param    func(string) string
	}{
		{"BENCH_ATTENTION", "attention", attentionParam},
		{"BENCH_SPIN", "spin", spinParam},
		{"BENCH_GRAPH_MEMORY", "graphMemory", graphMemoryParam},
	} {
		var next []gpuVariant
		for _, v := range out {
			for _, value := range strings.Split(os.Getenv(axis.env), ",") {
				w := v
				if value != "" {
					w.name += "/" + axis.key + "=" + value
					w.params += axis.param(value)
				}
				next = append(next, w)
			}
		}
		out = next
	}
	var paced []gpuVariant
	for _, v := range out {
		for _, pace := range paces {
			w := v
			w.pace = pace
			if pace.d > 0 {
				w.name += "/pace=" + pace.String()
			}
			paced = append(paced, w)
		}
	}
	return paced
}

// attentionParam is the attentionKernel parameter for kernel, as a JSON
// member to append ("" for the default).
func attentionParam(kernel string) string {
	if kernel == "" {
		return ""
	}
	return fmt.Sprintf(`, "attentionKernel": %q`, kernel)
}

// spinParam is the threadSpin parameter, as a JSON member to append.
func spinParam(spin string) string { return fmt.Sprintf(`, "threadSpin": %q`, spin) }

// graphMemoryParam is the cudaGraphMemory parameter, as a JSON member to
// append ("" for the default).
func graphMemoryParam(memory string) string {
	if memory == "" {
		return ""
	}
	return fmt.Sprintf(`, "cudaGraphMemory": %q`, memory)
}

// readTexts returns the "text" of each line of a JSONL file.
func readTexts(b *testing.B, path string) []string {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var row struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		texts = append(texts, row.Text)
	}
	return texts
}
