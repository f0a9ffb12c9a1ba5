//go:build cgo

package onnx

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

func TestMain(m *testing.M) {
	log.SetLogger(logr.Discard())
	// BENCH_CUDA_OPTIONS="key=value;key=value" adds CUDA provider options
	// (e.g. enable_cuda_graph, use_tf32); BENCH_ORT_PROFILE=prefix writes
	// ONNX Runtime's profile of every session.
	for _, kv := range strings.Split(os.Getenv("BENCH_CUDA_OPTIONS"), ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if extraCUDAOptions == nil {
				extraCUDAOptions = map[string]string{}
			}
			extraCUDAOptions[k] = v
		}
	}
	profilePrefix = os.Getenv("BENCH_ORT_PROFILE")
	os.Exit(m.Run())
}

// run is runAll without the embeddings, for the tests and benchmarks that
// read the logits only.
func (c *Classifier) run(ctx context.Context, encs []tokenizer.Encoding) ([][]float32, error) {
	logits, _, err := c.runAll(ctx, encs)
	return logits, err
}
