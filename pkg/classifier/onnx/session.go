//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// newSession creates the session on the configured execution provider and
// returns the device it runs on. When CUDA cannot be used it falls back to
// the CPU (logged and counted) unless o.CUDAFallback is "fail".
func newSession(ctx context.Context, o Options, model []byte, inputs []string) (*ort.DynamicAdvancedSession, string, error) {
	if o.Device == DeviceCUDA {
		s, err := createSession(o, model, inputs, true)
		if err == nil {
			return s, "cuda", nil
		}
		if o.CUDAFallback == FallbackFail {
			return nil, "", fmt.Errorf("CUDA execution provider unavailable (cudaFallback: fail): %w", err)
		}
		CUDAFallbacks.Inc()
		log.FromContext(ctx).Error(err, "CUDA execution provider unavailable; running the ONNX classifier on the CPU",
			"deviceID", o.DeviceID)
	}
	s, err := createSession(o, model, inputs, false)
	if err != nil {
		return nil, "", err
	}
	return s, "cpu", nil
}

func createSession(o Options, model []byte, inputs []string, cuda bool) (*ort.DynamicAdvancedSession, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("creating session options: %w", err)
	}
	defer func() { _ = opts.Destroy() }()
	if o.IntraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("intraOpThreads %d: %w", o.IntraOpThreads, err)
		}
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("setting inter-op threads: %w", err)
	}
	// ONNX Runtime's intra-op threads spin between operators by default. In
	// the EPP they share the cores with the Go runtime, the gRPC server and
	// other pods, and spinning threads then steal the time the working ones
	// need: with one core kept busy by another process, a 128-token call of
	// the default model took 8.3 ms spinning and 6.8 ms without (3.3 / 4.2 ms
	// back to back on a quiet machine; docs/benchmarks.md). So spinning is off
	// unless asked for.
	if !o.IntraOpSpinning {
		if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("disabling intra-op spinning: %w", err)
		}
	}
	if cuda {
		if err := appendCUDA(opts, o); err != nil {
			return nil, err
		}
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, inputs, []string{Logits}, opts)
	if err != nil {
		return nil, fmt.Errorf("creating ONNX Runtime session from %s: %w", ModelFile, err)
	}
	return s, nil
}

func appendCUDA(opts *ort.SessionOptions, o Options) error {
	cudaOpts, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("CUDA provider options: %w", err)
	}
	defer func() { _ = cudaOpts.Destroy() }()
	settings := map[string]string{"device_id": strconv.Itoa(o.DeviceID)}
	if o.GPUMemoryLimitBytes > 0 {
		settings["gpu_mem_limit"] = strconv.FormatInt(o.GPUMemoryLimitBytes, 10)
		settings["arena_extend_strategy"] = "kSameAsRequested"
	}
	if err := cudaOpts.Update(settings); err != nil {
		return fmt.Errorf("CUDA provider options %v: %w", settings, err)
	}
	if err := opts.AppendExecutionProviderCUDA(cudaOpts); err != nil {
		return fmt.Errorf("adding the CUDA execution provider: %w", err)
	}
	return nil
}
