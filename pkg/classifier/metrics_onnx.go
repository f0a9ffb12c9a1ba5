package classifier

import "github.com/prometheus/client_golang/prometheus"

// ONNX backend metrics (pkg/classifier/onnx).
var (
	// ONNXInferenceDuration observes each ONNX Runtime run. Label "device":
	// the execution provider that ran it, "cpu" or "cuda".
	ONNXInferenceDuration = register(prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Name: "onnx_inference_duration_seconds",
		Help:    "Duration of one ONNX Runtime run (one batch), by execution provider (device: cpu, cuda).",
		Buckets: []float64{.0005, .001, .002, .003, .005, .0075, .01, .015, .025, .05, .1, .25, .5, 1},
	}, []string{"device"}))
	// ONNXTruncatedInputs counts texts longer than the model's input limit,
	// classified on a head+tail window of their tokens.
	ONNXTruncatedInputs = register(prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "onnx_truncated_inputs_total",
		Help: "Texts longer than the ONNX model's sequence limit, classified on a head+tail token window.",
	}))
	// ONNXCUDAFallbacks counts loads that asked for CUDA and ran on the CPU
	// because the CUDA execution provider could not be used.
	ONNXCUDAFallbacks = register(prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metricsNamespace, Name: "onnx_cuda_fallbacks_total",
		Help: "ONNX classifier loads that asked for CUDA but fell back to the CPU.",
	}))
)

// Micro-batching metrics (pkg/classifier/batching).
var (
	// BatchSize observes the number of texts in each dispatched batch.
	BatchSize = register(prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Name: "batch_size_texts",
		Help:    "Texts per micro-batch sent to the classifier backend.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
	}))
	// BatchQueueWait observes how long a request waited before its batch
	// was dispatched.
	BatchQueueWait = register(prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Name: "batch_queue_wait_seconds",
		Help:    "Time a classification request waited in the micro-batching queue before its batch started.",
		Buckets: []float64{0, .0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1},
	}))
)
