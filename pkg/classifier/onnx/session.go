//go:build cgo

package onnx

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// ErrCPUGraph is wrapped by the error of a CUDA load of an int8 graph.
var ErrCPUGraph = errors.New("int8 CPU graph on device cuda")

// Tuning hooks for the GPU benchmarks (set by the package's tests from
// BENCH_CUDA_OPTIONS and BENCH_ORT_PROFILE): extra CUDA provider options and
// the file prefix of ONNX Runtime's profiler. Unset in the EPP.
var (
	extraCUDAOptions map[string]string
	profilePrefix    string
)

// newSession creates the session on the configured execution provider and
// returns the device it runs on. When CUDA cannot be used it falls back to
// the CPU (logged and counted) unless o.CUDAFallback is "fail".
//
// An int8 graph (quantized non-empty) is never run on CUDA: its quantized
// operators have no CUDA kernels and would run on the host between copies
// (2.95 ms at 128 tokens on an H200 against 0.5–0.75 ms for the GPU graph,
// docs/results/gpu-default/). It is treated like an unavailable CUDA
// provider: an error with cudaFallback "fail", else the CPU, logged and
// counted in semantic_epp_classifier_onnx_cuda_fallbacks_total.
func newSession(ctx context.Context, o Options, model []byte, inputs, outputs []string, quantized []string) (*ort.DynamicAdvancedSession, string, error) {
	if o.Device == DeviceCUDA && len(quantized) > 0 {
		err := fmt.Errorf("%w: %s has int8 operators %v, which run on the host under CUDA; "+
			"use the GPU graph (`make model-gpu`, or modelDir: embedded in the CUDA image)", ErrCPUGraph, ModelFile, quantized)
		if o.CUDAFallback == FallbackFail {
			return nil, "", err
		}
		CUDAFallbacks.Inc()
		log.FromContext(ctx).Error(err, "running the int8 ONNX graph on the CPU instead of CUDA")
		o.Device = DeviceCPU
	}
	if o.Device == DeviceCUDA {
		s, err := createSession(o, model, inputs, outputs, true)
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
	s, err := createSession(o, model, inputs, outputs, false)
	if err != nil {
		return nil, "", err
	}
	return s, "cpu", nil
}

// openSessions makes c.sessions: first and o.Sessions-1 more like it, on
// c.device. On error it destroys every session.
func (c *Classifier) openSessions(o Options, model []byte, first *ort.DynamicAdvancedSession) error {
	c.sessions = []*ort.DynamicAdvancedSession{first}
	for i := 1; i < o.Sessions; i++ {
		s, err := createSession(o, model, c.inputs, c.outputs(), c.device == DeviceCUDA)
		if err != nil {
			_ = c.destroySessions()
			return fmt.Errorf("session %d of %d: %w", i+1, o.Sessions, err)
		}
		c.sessions = append(c.sessions, s)
	}
	return nil
}

// destroySessions destroys c.sessions (no run is in progress).
func (c *Classifier) destroySessions() error {
	var errs []error
	for _, s := range c.sessions {
		if err := s.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("destroying ONNX session: %w", err))
		}
	}
	c.sessions = nil
	return errors.Join(errs...)
}

func createSession(o Options, model []byte, inputs, outputs []string, cuda bool) (*ort.DynamicAdvancedSession, error) {
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
	if profilePrefix != "" {
		if err := opts.EnableProfiling(profilePrefix); err != nil {
			return nil, fmt.Errorf("enabling ONNX Runtime profiling: %w", err)
		}
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("creating ONNX Runtime session from %s: %w", ModelFile, err)
	}
	return s, nil
}

// cudaSettings are the CUDA provider options of o, for the plain session
// and the CUDA graph session alike.
func cudaSettings(o Options) map[string]string {
	// o has its defaults (Load applied them), so AttentionKernel is set.
	settings := map[string]string{"device_id": strconv.Itoa(o.DeviceID), "sdpa_kernel": attentionKernels[o.AttentionKernel]}
	if o.GPUMemoryLimitBytes > 0 {
		settings["gpu_mem_limit"] = strconv.FormatInt(o.GPUMemoryLimitBytes, 10)
		settings["arena_extend_strategy"] = "kSameAsRequested"
	}
	if o.exactFP32 {
		settings["use_tf32"] = "0"
	}
	for k, v := range extraCUDAOptions {
		settings[k] = v
	}
	return settings
}

func appendCUDA(opts *ort.SessionOptions, o Options) error {
	cudaOpts, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("CUDA provider options: %w", err)
	}
	defer func() { _ = cudaOpts.Destroy() }()
	settings := cudaSettings(o)
	if err := cudaOpts.Update(settings); err != nil {
		return fmt.Errorf("CUDA provider options %v: %w", settings, err)
	}
	if err := opts.AppendExecutionProviderCUDA(cudaOpts); err != nil {
		return fmt.Errorf("adding the CUDA execution provider: %w", err)
	}
	return nil
}
