package classifier

import (
	"encoding/json"
	"fmt"
	"time"
)

// Backend names accepted in Config.Backend.
const (
	// BackendAuto uses ONNX Runtime when its shared library can be loaded and
	// falls back to the pure-Go linear backend otherwise.
	BackendAuto   = ""
	BackendONNX   = "onnx"
	BackendLinear = "linear"
)

// EmbeddedModel names the default model compiled into the binary.
const EmbeddedModel = "embedded"

// Config selects and tunes a classifier. It is the `classifier` parameter of
// the semantic-model-selector plugin and the flags of `classify`.
type Config struct {
	// Backend is "onnx", "linear" or empty for auto.
	Backend string `json:"backend,omitempty"`
	// ModelDir is a directory holding the model files, or "embedded"/empty for
	// the default model compiled into the binary.
	ModelDir string `json:"modelDir,omitempty"`
	// Device is the ONNX Runtime execution provider: "cpu" (default) or "cuda".
	Device string `json:"device,omitempty"`
	// DeviceID is the CUDA device ordinal.
	DeviceID int `json:"deviceID,omitempty"`
	// GPUMemoryLimitBytes caps the CUDA arena; 0 leaves ONNX Runtime's default.
	GPUMemoryLimitBytes int64 `json:"gpuMemoryLimitBytes,omitempty"`
	// CUDAFallback says what happens when the CUDA provider cannot load:
	// "cpu" (default: log, count, run on CPU) or "fail".
	CUDAFallback string `json:"cudaFallback,omitempty"`
	// LibraryPath is the path of libonnxruntime.so; empty uses the
	// ONNXRUNTIME_LIB environment variable, then the make cache folder.
	LibraryPath string `json:"libraryPath,omitempty"`
	// IntraOpThreads is ONNX Runtime's intra-op thread count; 0 = its default.
	IntraOpThreads int `json:"intraOpThreads,omitempty"`
	// IntraOpSpinning lets ONNX Runtime's intra-op threads spin between
	// operators (its own default). Off by default here: spinning threads slow
	// the classifier down when other work shares the cores.
	IntraOpSpinning bool `json:"intraOpSpinning,omitempty"`
	// MaxBatchSize bounds dynamic micro-batches; 0 or 1 disables batching.
	MaxBatchSize int `json:"maxBatchSize,omitempty"`
	// MaxBatchWait is how long a batch may wait to fill, e.g. "1ms".
	MaxBatchWait Duration `json:"maxBatchWait,omitempty"`
	// CacheSize is the number of results kept in the LRU cache; 0 disables it.
	CacheSize int `json:"cacheSize,omitempty"`
	// Ensemble, nil or true, combines the ONNX model with the models its
	// directory's ensemble.json names, when it has one (the embedded default:
	// with the linear model); false uses the ONNX model alone. true with
	// backend "linear" is a configuration error.
	Ensemble *bool `json:"ensemble,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("1ms", "250us").
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string such as "1ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"1ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", s, err)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	d.Duration = v
	return nil
}
