// Package loader turns a classifier.Config into a ready classifier: it checks
// the configuration, picks the backend, finds the model files and adds the
// result cache. The EPP plugins and the classify CLI load classifiers only
// through Load.
package loader

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/cache"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

// backendAutoAlias is accepted as a spelling of classifier.BackendAuto.
const backendAutoAlias = "auto"

// Validate reports the first invalid field of cfg, naming it by its JSON key.
func Validate(cfg classifier.Config) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch cfg.Backend {
	case classifier.BackendAuto, backendAutoAlias, classifier.BackendONNX, classifier.BackendLinear:
	default:
		bad("backend %q: want %q, %q or empty (auto)", cfg.Backend, classifier.BackendONNX, classifier.BackendLinear)
	}
	switch cfg.Device {
	case "", "cpu", "cuda":
	default:
		bad("device %q: want \"cpu\" or \"cuda\"", cfg.Device)
	}
	if cfg.Device == "cuda" && cfg.Backend == classifier.BackendLinear {
		bad("device \"cuda\" needs backend %q (the linear backend runs on the CPU)", classifier.BackendONNX)
	}
	if cfg.Ensemble != nil && *cfg.Ensemble && cfg.Backend == classifier.BackendLinear {
		bad("ensemble true needs backend %q or auto (ensemble.json belongs to an ONNX model directory)", classifier.BackendONNX)
	}
	switch cfg.CUDAFallback {
	case "", "cpu", "fail":
	default:
		bad("cudaFallback %q: want \"cpu\" or \"fail\"", cfg.CUDAFallback)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"deviceID", int64(cfg.DeviceID)},
		{"gpuMemoryLimitBytes", cfg.GPUMemoryLimitBytes},
		{"intraOpThreads", int64(cfg.IntraOpThreads)},
		{"maxBatchSize", int64(cfg.MaxBatchSize)},
		{"maxBatchWait", int64(cfg.MaxBatchWait.Duration)},
		{"cacheSize", int64(cfg.CacheSize)},
	} {
		if f.v < 0 {
			bad("%s %d: must not be negative", f.name, f.v)
		}
	}
	if d := cfg.ModelDir; d != "" && d != classifier.EmbeddedModel {
		if st, err := os.Stat(d); err != nil {
			bad("modelDir %q: %w", d, err)
		} else if !st.IsDir() {
			bad("modelDir %q: not a directory", d)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("classifier config: %w", err)
	}
	return nil
}

// Load validates cfg and returns the classifier it describes:
//
//   - backend "linear": the pure-Go model of modelDir;
//   - backend "onnx": the ONNX model of modelDir, or an error; when the
//     directory has an ensemble.json (the embedded default does), the ONNX
//     model combined with the members it names, unless ensemble is false;
//   - backend "" (or "auto"): ONNX when its runtime library and model load,
//     else the linear model, with the reason logged (controller-runtime logger from ctx);
//     a modelDir holding a linear model and no *.onnx file loads linear
//     directly.
//
// modelDir "" or "embedded" is the model compiled into the binary (package
// models), anything else a directory on disk. With cacheSize > 0 the
// classifier is wrapped with an LRU result cache.
func Load(ctx context.Context, cfg classifier.Config) (classifier.Classifier, error) {
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	c, err := loadBackend(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return cache.New(c, cfg.CacheSize), nil
}

func embedded(cfg classifier.Config) bool {
	return cfg.ModelDir == "" || cfg.ModelDir == classifier.EmbeddedModel
}

func loadBackend(ctx context.Context, cfg classifier.Config) (classifier.Classifier, error) {
	switch cfg.Backend {
	case classifier.BackendLinear:
		return loadLinear(cfg)
	case classifier.BackendONNX:
		fsys, err := onnxFS(ctx, cfg)
		if err != nil {
			return nil, err
		}
		c, err := loadONNX(ctx, cfg, fsys)
		if err != nil {
			return nil, fmt.Errorf("classifier backend onnx: %w", err)
		}
		return withEnsemble(ctx, cfg, fsys, c)
	}
	// Auto.
	logger := log.FromContext(ctx)
	if !embedded(cfg) && isLinearOnly(os.DirFS(cfg.ModelDir)) {
		return loadLinear(cfg)
	}
	fsys, err := onnxFS(ctx, cfg)
	if err == nil {
		var c classifier.Classifier
		if c, err = loadONNX(ctx, cfg, fsys); err == nil {
			logger.Info("classifier: using the ONNX backend", "modelDir", modelDirName(cfg))
			// A broken ensemble.json is a configuration error, not a reason
			// to fall back to the linear model.
			return withEnsemble(ctx, cfg, fsys, c)
		}
	}
	c, lerr := loadLinear(cfg)
	if lerr != nil {
		return nil, fmt.Errorf("classifier backend auto: ONNX unavailable (%v) and linear failed: %w", err, lerr)
	}
	logger.Info("classifier: using the linear backend", "reason", err.Error(), "modelDir", modelDirName(cfg))
	return c, nil
}

func modelDirName(cfg classifier.Config) string {
	if embedded(cfg) {
		return classifier.EmbeddedModel
	}
	return cfg.ModelDir
}

func loadLinear(cfg classifier.Config) (classifier.Classifier, error) {
	var fsys fs.FS
	var err error
	if embedded(cfg) {
		if fsys, err = models.Linear(); err != nil {
			return nil, err
		}
	} else {
		fsys = os.DirFS(cfg.ModelDir)
	}
	m, err := linear.Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("modelDir %q: %w", modelDirName(cfg), err)
	}
	return m, nil
}

func onnxFS(ctx context.Context, cfg classifier.Config) (fs.FS, error) {
	if embedded(cfg) {
		return embeddedONNX(ctx, cfg)
	}
	return os.DirFS(cfg.ModelDir), nil
}

// isLinearOnly reports a directory with a linear model and no ONNX file.
func isLinearOnly(fsys fs.FS) bool {
	if _, err := fs.Stat(fsys, linear.MetadataFile); err != nil {
		return false
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.EqualFold(path.Ext(e.Name()), ".onnx") {
			return false
		}
	}
	return true
}
