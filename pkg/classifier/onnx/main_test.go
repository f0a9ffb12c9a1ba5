//go:build cgo

package onnx

import (
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/log"
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
