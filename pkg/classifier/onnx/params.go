package onnx

import (
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// Devices and CUDA fallback policies.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
	// FallbackCPU logs and counts a CUDA load failure and runs on the CPU.
	FallbackCPU = "cpu"
	// FallbackFail makes a CUDA load failure an error.
	FallbackFail = "fail"
)

// Options are the ONNX Runtime settings of one session. They are part of
// Params, inline in JSON.
type Options struct {
	// LibraryPath is the path of libonnxruntime.so; empty uses the
	// ONNXRUNTIME_LIB environment variable, then the make cache folder
	// (ResolveLibrary).
	LibraryPath string `json:"libraryPath,omitempty"`
	// Device is the execution provider: "cpu" (default) or "cuda".
	Device string `json:"device,omitempty"`
	// DeviceID is the CUDA device ordinal.
	DeviceID int `json:"deviceID,omitempty"`
	// GPUMemoryLimitBytes caps the CUDA arena; 0 leaves ONNX Runtime's default.
	GPUMemoryLimitBytes int64 `json:"gpuMemoryLimitBytes,omitempty"`
	// CUDAFallback says what happens when the CUDA provider cannot load:
	// "cpu" (default: log, count, run on the CPU) or "fail".
	CUDAFallback string `json:"cudaFallback,omitempty"`
	// IntraOpThreads is ONNX Runtime's intra-op thread count; 0 = its default.
	IntraOpThreads int `json:"intraOpThreads,omitempty"`
	// IntraOpSpinning lets ONNX Runtime's intra-op threads spin between
	// operators (its own default). Off by default here: spinning threads slow
	// the classifier down when other work shares the cores.
	IntraOpSpinning bool `json:"intraOpSpinning,omitempty"`
	// AttentionKernel picks the fused attention kernel of the CUDA provider
	// (its sdpa_kernel option): "cudnn" (default), "efficient", "flash",
	// "math", or "auto" for ONNX Runtime's own choice (cuDNN's on Hopper).
	// cuDNN's builds a plan per batch shape and OS thread, so with it (and
	// "auto") runs are padded to shape buckets and made on runner threads
	// that plan every bucket at load: a few seconds more to load, then the
	// fastest runs (docs/results/gpu-default-2026-12-02e/). Ignored on the
	// CPU.
	AttentionKernel string `json:"attentionKernel,omitempty"`
	// CUDAGraphs, "on" (default) or "off", runs batches of up to
	// maxGraphBatch texts on CUDA as captured CUDA graphs: one launch per run
	// instead of one per kernel, which is most of a small batch's time. The
	// shapes are captured at load and checked against the plain session;
	// when capture or the check fails the classifier runs without graphs,
	// logged. Ignored on the CPU.
	CUDAGraphs string `json:"cudaGraphs,omitempty"`
	// ThreadSpin is how long a CUDA thread (a runner's or the CUDA graphs'),
	// and the run waiting on it, spin before they park, e.g. "2ms"; 0 (the
	// default) never spins. A run reaching a parked thread pays two OS
	// wake-ups, a large share of a sub-millisecond GPU run; spinning saves
	// them when requests come a little apart, costs a core while it spins,
	// and did not help with gaps longer than a millisecond
	// (docs/results/gpu-default-2026-12-02f/). At most a quarter of the Go
	// scheduler's processors spin at once (none with fewer than four).
	// Ignored on the CPU.
	ThreadSpin metav1.Duration `json:"threadSpin,omitzero"`
	// CUDAGraphMemory is where a CUDA graph's inputs and outputs live:
	// "mapped" (default), pinned host memory mapped into the GPU's address
	// space, which the graph reads and writes itself, so a run makes no
	// copy; or "device", GPU memory with one copy each way per run, for a
	// platform whose GPU cannot reach host memory (capture then fails and
	// the classifier runs without graphs, logged). Ignored on the CPU.
	CUDAGraphMemory string `json:"cudaGraphMemory,omitempty"`
	// Sessions is how many ONNX Runtime sessions of the model run batches
	// side by side (1 to maxSessions; 0 means 1). Runs of one session share
	// its state; on CUDA a session of its own per batch worker lets their
	// GPU work overlap. Each session holds its own copy of the weights and
	// its own memory arena.
	Sessions int `json:"sessions,omitempty"`
	// EmbeddingOutput names the model output that holds the sentence
	// embedding, a float tensor [batch, dim] (the pooled vector the
	// classification head reads; the embedded default has one, see
	// docs/model-card.md). Empty means DefaultEmbeddingOutput when the model
	// has it, else no embedding; a name given here must exist.
	EmbeddingOutput string `json:"embeddingOutput,omitempty"`
	// MaxSeqLen caps the tokens per text, special tokens included; 0 uses
	// tokenizer.json's truncation max_length, else the model's position
	// table, else defaultMaxSeqLen. It never exceeds the position table.
	// Not configurable (benchmarks set it).
	MaxSeqLen int `json:"-"`
	// exactFP32 turns the CUDA provider's TF32 matrix products off: an
	// ensemble's refinement model (ensemble.json "refine") computes in full
	// fp32 to match the CPU model.
	exactFP32 bool
}

// attentionKernels maps AttentionKernel to the CUDA provider's sdpa_kernel
// values (ONNX Runtime's AttentionBackend flags).
var attentionKernels = map[string]string{"auto": "0", "flash": "1", "efficient": "2", "cudnn": "8", "math": "16"}

// DefaultAttentionKernel is the CUDA attention kernel when none is set.
const DefaultAttentionKernel = "cudnn"

// DefaultEmbeddingOutput is the embedding output the backend reads when
// embeddingOutput is not set: the name sentence-transformers' ONNX exports
// use, and the one the embedded default's graph carries.
const DefaultEmbeddingOutput = "sentence_embedding"

// Params are the parameters of the onnx backend (and of auto, which uses
// the same fields).
type Params struct {
	// ModelDir is a directory holding model.onnx, tokenizer.json and
	// category_mapping.json, or "embedded"/empty for the model compiled
	// into the binary.
	ModelDir string `json:"modelDir,omitempty"`
	Options
	// Ensemble, nil or true, combines the model with the models its
	// directory's ensemble.json names, when it has one (the embedded default
	// does: with the linear model); false uses the ONNX model alone.
	Ensemble *bool `json:"ensemble,omitempty"`
}

// ApplyDefaults fills the fields whose zero value is not their default.
func (p *Params) ApplyDefaults() {
	if p.ModelDir == "" {
		p.ModelDir = classifier.EmbeddedModel
	}
	p.applyDefaults()
}

func (o *Options) applyDefaults() {
	if o.Device == "" {
		o.Device = DeviceCPU
	}
	if o.CUDAFallback == "" {
		o.CUDAFallback = FallbackCPU
	}
	if o.AttentionKernel == "" {
		o.AttentionKernel = DefaultAttentionKernel
	}
	if o.CUDAGraphs == "" {
		o.CUDAGraphs = CUDAGraphsOn
	}
	if o.CUDAGraphMemory == "" {
		o.CUDAGraphMemory = GraphMemoryMapped
	}
	if o.Sessions == 0 {
		o.Sessions = 1
	}
}

// maxThreadSpin bounds Options.ThreadSpin: a longer spin only burns cores.
const maxThreadSpin = 100 * time.Millisecond

// maxSessions bounds Options.Sessions: more sessions than batch workers
// only hold memory.
const maxSessions = 16

// CUDAGraphs values.
const (
	CUDAGraphsOn  = "on"
	CUDAGraphsOff = "off"
)

// CUDAGraphMemory values.
const (
	GraphMemoryMapped = "mapped"
	GraphMemoryDevice = "device"
)

// Validate reports every invalid field, naming it by its JSON key.
func (p Params) Validate() error {
	return errors.Join(p.validate(), classifier.CheckModelDir(p.ModelDir))
}

func (o Options) validate() error {
	var errs []error
	switch o.Device {
	case "", DeviceCPU, DeviceCUDA:
	default:
		errs = append(errs, fmt.Errorf("device %q: want %q or %q", o.Device, DeviceCPU, DeviceCUDA))
	}
	switch o.CUDAFallback {
	case "", FallbackCPU, FallbackFail:
	default:
		errs = append(errs, fmt.Errorf("cudaFallback %q: want %q or %q", o.CUDAFallback, FallbackCPU, FallbackFail))
	}
	if _, ok := attentionKernels[o.AttentionKernel]; !ok && o.AttentionKernel != "" {
		errs = append(errs, fmt.Errorf("attentionKernel %q: want one of efficient, flash, cudnn, math, auto", o.AttentionKernel))
	}
	switch o.CUDAGraphs {
	case "", CUDAGraphsOn, CUDAGraphsOff:
	default:
		errs = append(errs, fmt.Errorf("cudaGraphs %q: want %q or %q", o.CUDAGraphs, CUDAGraphsOn, CUDAGraphsOff))
	}
	switch o.CUDAGraphMemory {
	case "", GraphMemoryMapped, GraphMemoryDevice:
	default:
		errs = append(errs, fmt.Errorf("cudaGraphMemory %q: want %q or %q", o.CUDAGraphMemory, GraphMemoryMapped, GraphMemoryDevice))
	}
	if o.Sessions < 0 || o.Sessions > maxSessions {
		errs = append(errs, fmt.Errorf("sessions %d: want 1 to %d (0: 1)", o.Sessions, maxSessions))
	}
	if o.ThreadSpin.Duration < 0 || o.ThreadSpin.Duration > maxThreadSpin {
		errs = append(errs, fmt.Errorf("threadSpin %s: want 0s to %s", o.ThreadSpin.Duration, maxThreadSpin))
	}
	if strings.TrimSpace(o.EmbeddingOutput) != o.EmbeddingOutput {
		errs = append(errs, fmt.Errorf("embeddingOutput %q: leading or trailing spaces", o.EmbeddingOutput))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"deviceID", int64(o.DeviceID)},
		{"gpuMemoryLimitBytes", o.GPUMemoryLimitBytes},
		{"intraOpThreads", int64(o.IntraOpThreads)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: must not be negative", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// Embedded reports whether the params name the model compiled into the
// binary.
func (p Params) Embedded() bool {
	return p.ModelDir == "" || p.ModelDir == classifier.EmbeddedModel
}

// BatchWorkers is how many batches run at once: on CUDA three, so that the
// host's part of a run (copies, launches, answering the callers) overlaps
// the GPU's work on the others; on
// the CPU enough runs of intraOpThreads threads to fill the cores, or one
// when ONNX Runtime picks the thread count (it then uses every core).
func BatchWorkers(device string, intraOpThreads, cpus int) int {
	switch {
	case device == DeviceCUDA:
		return 3
	case intraOpThreads > 0:
		return max(1, cpus/intraOpThreads)
	default:
		return 1
	}
}
