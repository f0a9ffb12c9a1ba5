//go:build cgo

package onnx

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semantic-epp/semantic-epp/models"
)

// The int8 default on device cuda must not reach the CUDA provider: an error
// with cudaFallback fail, the CPU (counted) otherwise. This needs no GPU: the
// graph is refused before any CUDA session is tried.
func TestInt8GraphNeverRunsOnCUDA(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	fsys, err := models.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(ctx, Options{Device: DeviceCUDA, CUDAFallback: FallbackFail}, fsys)
	if !errors.Is(err, ErrCPUGraph) {
		t.Fatalf("int8 graph on cuda with cudaFallback fail: err %v, want ErrCPUGraph", err)
	}
	before := testutil.ToFloat64(CUDAFallbacks)
	c, err := Load(ctx, Options{Device: DeviceCUDA, CUDAFallback: FallbackCPU}, fsys)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if c.Device() != DeviceCPU {
		t.Errorf("int8 graph with cudaFallback cpu runs on %q, want cpu", c.Device())
	}
	if got := testutil.ToFloat64(CUDAFallbacks) - before; got != 1 {
		t.Errorf("cuda fallbacks counted %v, want 1", got)
	}
}

func TestEmbeddedONNXPicksGPUGraph(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gpuModel := []byte("the GPU graph")
	if err := os.WriteFile(filepath.Join(dir, ModelFile), gpuModel, 0o644); err != nil {
		t.Fatal(err)
	}
	modelOf := func(fsys fs.FS) []byte {
		t.Helper()
		b, err := fs.ReadFile(fsys, ModelFile)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	embedded, err := models.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	int8Model := modelOf(embedded)

	t.Setenv(GPUModelDirEnv, dir)
	if _, err := embeddedONNX(ctx, Options{Device: DeviceCUDA}); err == nil {
		t.Error("GPU graph without ensemble.json: no error")
	}
	if err := os.WriteFile(filepath.Join(dir, EnsembleFile), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, device, env string
		want              []byte
	}{
		{"cuda picks the GPU graph", DeviceCUDA, dir, gpuModel},
		{"cpu keeps the int8 graph", DeviceCPU, dir, int8Model},
		{"no GPU graph: the int8 graph, refused later by newSession", DeviceCUDA, filepath.Join(dir, "absent"), int8Model},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(GPUModelDirEnv, tc.env)
			fsys, err := embeddedONNX(ctx, Options{Device: tc.device})
			if err != nil {
				t.Fatal(err)
			}
			if got := modelOf(fsys); !bytes.Equal(got, tc.want) {
				t.Errorf("model.onnx of %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}
