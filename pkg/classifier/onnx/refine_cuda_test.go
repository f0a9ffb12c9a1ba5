//go:build cgo

package onnx

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// margin is the gap between a result's two highest probabilities.
func margin(r classifier.Result) float64 {
	var a, b float64
	for _, s := range r.Scores {
		switch v := float64(s); {
		case v > a:
			a, b = v, a
		case v > b:
			b = v
		}
	}
	return a - b
}

// TestCUDARefineMargins measures, over SEMANTIC_EPP_PARITY_DATA, how the
// labels of a fast GPU ensemble (SEMANTIC_EPP_CUDA_MODEL) agree with the CPU
// default when the texts whose top-two margin falls below a threshold are
// classified again by an exact GPU ensemble (SEMANTIC_EPP_CUDA_EXACT_MODEL),
// for a range of thresholds, and how many texts that sends to the exact
// one. It also reports the CPU default's agreement with itself in batches
// of 32. It fails when the exact ensemble alone agrees on less than 99.5 %.
func TestCUDARefineMargins(t *testing.T) {
	fastDir, exactDir, data := os.Getenv("SEMANTIC_EPP_CUDA_MODEL"), os.Getenv("SEMANTIC_EPP_CUDA_EXACT_MODEL"), os.Getenv("SEMANTIC_EPP_PARITY_DATA")
	if !cudaRequested() || fastDir == "" || exactDir == "" || data == "" {
		t.Skipf("set %s=1, SEMANTIC_EPP_CUDA_MODEL, SEMANTIC_EPP_CUDA_EXACT_MODEL and SEMANTIC_EPP_PARITY_DATA", CUDATestEnv)
	}
	requireRuntime(t)
	ctx := context.Background()
	load := func(p map[string]string) classifier.Classifier {
		raw, _ := json.Marshal(p)
		c, err := Factory(ctx, raw, classifier.FactoryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	cpu := load(map[string]string{})
	fast := load(map[string]string{"modelDir": fastDir, "device": "cuda", "cudaFallback": "fail"})
	exact := load(map[string]string{"modelDir": exactDir, "device": "cuda", "cudaFallback": "fail"})
	texts, labels := readRows(t, data, 0)
	type row struct {
		cpu, fast, exact, truth string
		margin                  float64
	}
	rows := make([]row, len(texts))
	for i, text := range texts {
		c, err := cpu.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		f, err := fast.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		e, err := exact.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = row{cpu: c.Label, fast: f.Label, exact: e.Label, truth: labels[i], margin: margin(f)}
	}
	var selfAgree int
	for lo := 0; lo < len(texts); lo += 32 {
		res, err := cpu.ClassifyBatch(ctx, texts[lo:min(lo+32, len(texts))])
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range res {
			if r.Label == rows[lo+j].cpu {
				selfAgree++
			}
		}
	}
	n := float64(len(rows))
	t.Logf("%d texts; the CPU default in batches of 32 agrees with itself one at a time on %.4f", len(rows), float64(selfAgree)/n)
	var exactAgree, cpuRight int
	for _, r := range rows {
		if r.exact == r.cpu {
			exactAgree++
		}
		if r.cpu == r.truth {
			cpuRight++
		}
	}
	t.Logf("exact alone: agreement %.4f; CPU accuracy %.4f", float64(exactAgree)/n, float64(cpuRight)/n)
	for _, tau := range []float64{0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5} {
		var again, agree, right int
		for _, r := range rows {
			label := r.fast
			if r.margin < tau {
				label = r.exact
				again++
			}
			if label == r.cpu {
				agree++
			}
			if label == r.truth {
				right++
			}
		}
		t.Logf("threshold %.2f: %.4f sent again, agreement %.4f, accuracy %.4f", tau, float64(again)/n, float64(agree)/n, float64(right)/n)
	}
	if float64(exactAgree)/n < 0.995 {
		t.Errorf("the exact ensemble agrees on %.4f, want ≥ 0.995", float64(exactAgree)/n)
	}
}
