package loader

import (
	"context"
	"io/fs"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/batching"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

// ONNXAvailable reports why the ONNX backend cannot run with cfg's library
// settings (library not found, cannot be loaded, binary built without cgo),
// or nil when it can. On success the ONNX Runtime library is loaded.
func ONNXAvailable(cfg classifier.Config) error {
	return onnx.Available(cfg.LibraryPath, cfg.Device)
}

// loadONNX loads the ONNX model of fsys and, with maxBatchSize > 1, wraps it
// with dynamic micro-batching: one batch at a time on the CPU, whose runs
// already use every core, two on CUDA so that tokenizing and copying one
// batch overlaps the GPU's work on the other.
func loadONNX(ctx context.Context, cfg classifier.Config, fsys fs.FS) (classifier.Classifier, error) {
	c, err := onnx.Load(ctx, cfg, fsys)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBatchSize <= 1 {
		return c, nil
	}
	workers := 1
	if c.Device() == "cuda" {
		workers = 2
	}
	return batching.New(c, batching.Options{
		MaxBatchSize: cfg.MaxBatchSize,
		MaxBatchWait: cfg.MaxBatchWait.Duration,
		Workers:      workers,
	}), nil
}
