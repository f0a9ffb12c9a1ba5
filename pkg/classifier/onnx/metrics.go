package onnx

import "github.com/prometheus/client_golang/prometheus"

// ONNX backend metrics. Nothing is registered with the global registry:
// Collectors hands them to the EPP (runner.WithCustomCollectors) or a test.
var (
	// inferenceDuration observes each ONNX Runtime run. Label "device":
	// the execution provider that ran it, "cpu" or "cuda".
	inferenceDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "semantic_epp_classifier", Name: "onnx_inference_duration_seconds",
		Help:    "Duration of one ONNX Runtime run (one batch), by execution provider (device: cpu, cuda).",
		Buckets: []float64{.0005, .001, .002, .003, .005, .0075, .01, .015, .025, .05, .1, .25, .5, 1},
	}, []string{"device"})
	// truncatedInputs counts texts longer than the model's input limit,
	// classified on a head+tail window of their tokens.
	truncatedInputs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "semantic_epp_classifier", Name: "onnx_truncated_inputs_total",
		Help: "Texts longer than the ONNX model's sequence limit, classified on a head+tail token window.",
	})
	// CUDAFallbacks counts loads that asked for CUDA and ran on the CPU
	// because the CUDA execution provider could not be used.
	CUDAFallbacks = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "semantic_epp_classifier", Name: "onnx_cuda_fallbacks_total",
		Help: "ONNX classifier loads that asked for CUDA but fell back to the CPU.",
	})
)

// Collectors returns the ONNX backend's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{inferenceDuration, truncatedInputs, CUDAFallbacks}
}
