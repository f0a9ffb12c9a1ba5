// Package loader builds a ready classifier from a classifier.Config: it
// registers the built-in backends (auto, onnx, linear), checks the common
// fields, has the backend's factory build the model and adds the wrappers
// common to all backends (micro-batching where the backend applies it, the
// result cache). The EPP plugins and the classify CLI load classifiers only
// through Load.
package loader

import (
	"context"
	"fmt"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/auto"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/batching"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/cache"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

// The built-in backends. A new backend registers itself here with one line
// (or with classifier.Register from its own package's user).
func init() {
	classifier.Register(auto.Type, auto.Factory)
	classifier.Register(onnx.Type, onnx.Factory)
	classifier.Register(linear.Type, linear.Factory)
}

// Load validates cfg and returns the classifier it describes: the backend's
// classifier (an empty backend is auto), micro-batched where the backend
// applies maxBatchSize, and wrapped with an LRU result cache when
// cacheSize > 0. Errors start with "classifier config:".
func Load(ctx context.Context, cfg classifier.Config) (classifier.Classifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("classifier config: %w", err)
	}
	opts := classifier.FactoryOptions{Batch: func(c classifier.Classifier, workers int) classifier.Classifier {
		if cfg.MaxBatchSize <= 1 {
			return c
		}
		return batching.New(c, batching.Options{MaxBatchSize: cfg.MaxBatchSize, MaxBatchWait: cfg.MaxBatchWait.Duration, Workers: workers})
	}}
	c, err := classifier.NewBackend(ctx, cfg.Backend, cfg.Parameters, opts)
	if err != nil {
		return nil, fmt.Errorf("classifier config: %w", err)
	}
	return cache.New(c, cfg.CacheSize), nil
}
