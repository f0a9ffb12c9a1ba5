package loader

import (
	"context"
	"io/fs"
	"runtime"

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
// with dynamic micro-batching, running BatchWorkers batches at once.
func loadONNX(ctx context.Context, cfg classifier.Config, fsys fs.FS) (classifier.Classifier, error) {
	c, err := onnx.Load(ctx, cfg, fsys)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBatchSize <= 1 {
		return c, nil
	}
	return batching.New(c, batching.Options{
		MaxBatchSize: cfg.MaxBatchSize,
		MaxBatchWait: cfg.MaxBatchWait.Duration,
		Workers:      BatchWorkers(c.Device(), cfg.IntraOpThreads, runtime.NumCPU()),
	}), nil
}

// BatchWorkers is how many batches run at once: on CUDA two, so that
// tokenizing and copying one batch overlaps the GPU's work on the other; on
// the CPU enough runs of intraOpThreads threads to fill the cores, or one
// when ONNX Runtime picks the thread count (it then uses every core).
func BatchWorkers(device string, intraOpThreads, cpus int) int {
	switch {
	case device == "cuda":
		return 2
	case intraOpThreads > 0:
		return max(1, cpus/intraOpThreads)
	default:
		return 1
	}
}
