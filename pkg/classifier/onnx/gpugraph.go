package onnx

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/models"
)

// The embedded default is an int8 graph for the CPU. With device "cuda" the
// backend runs its GPU graph instead: the same model with the int8 weights
// dequantized and fp16 activations, which `make model-gpu` derives from the
// embedded files (training/domainclf/gpugraph.py) and the CUDA image ships.
// Its ensemble.json is the embedded one, so the members stay the embedded
// ones. When no GPU graph is found the int8 graph is not run on CUDA: the
// ONNX backend then fails (cudaFallback "fail") or runs it on the CPU, logged
// and counted (pkg/classifier/onnx, newSession).
const (
	// GPUModelDirEnv names a GPU graph directory to use instead of the
	// places searched.
	GPUModelDirEnv = "SEMANTIC_EPP_GPU_MODEL_DIR"
	// systemGPUModelDir is where the CUDA image puts the GPU graph
	// (Dockerfile.cuda); it is searched last.
	systemGPUModelDir = "/usr/lib/semantic-epp/models/gpu/" + models.ONNXDir
)

// gpuCacheDir is where `make model-gpu` writes the GPU graph, relative to
// the repository root.
var gpuCacheDir = filepath.Join(".cache", "models", "gpu", models.ONNXDir)

// resolveGPUModel returns the GPU graph directory of the embedded default:
// $SEMANTIC_EPP_GPU_MODEL_DIR, else .cache/models/gpu/domain-minilm found by
// walking up from the working directory and the executable's, else
// systemGPUModelDir; "" and the places tried when none holds a model.
func resolveGPUModel() (string, []string) {
	has := func(dir string) bool {
		st, err := os.Stat(filepath.Join(dir, "model.onnx"))
		return err == nil && !st.IsDir()
	}
	if env := os.Getenv(GPUModelDirEnv); env != "" {
		if has(env) {
			return env, nil
		}
		return "", []string{env + " (" + GPUModelDirEnv + ")"}
	}
	var starts, tried []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	for _, start := range starts {
		for dir := start; ; dir = filepath.Dir(dir) {
			if p := filepath.Join(dir, gpuCacheDir); has(p) {
				return p, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
		tried = append(tried, filepath.Join(start, "…", gpuCacheDir))
	}
	if has(systemGPUModelDir) {
		return systemGPUModelDir, nil
	}
	return "", append(tried, systemGPUModelDir)
}

// embeddedONNX returns the ONNX model directory of modelDir "embedded" for
// the device of o, logging which graph runs where.
func embeddedONNX(ctx context.Context, o Options) (fs.FS, error) {
	logger := log.FromContext(ctx)
	if o.Device != DeviceCUDA {
		return models.ONNX()
	}
	dir, tried := resolveGPUModel()
	if dir == "" {
		logger.Info("classifier: no GPU graph of the embedded model found; its int8 graph is a CPU graph and does not run on CUDA",
			"tried", strings.Join(tried, ", "), "cudaFallback", o.CUDAFallback)
		return models.ONNX()
	}
	fsys := os.DirFS(dir)
	if _, err := fs.Stat(fsys, EnsembleFile); err != nil {
		return nil, fmt.Errorf("GPU graph %s has no %s (rebuild it with `make model-gpu`): %w", dir, EnsembleFile, err)
	}
	logger.Info("classifier: device cuda runs the embedded model's GPU graph", "modelDir", dir)
	return fsys, nil
}
