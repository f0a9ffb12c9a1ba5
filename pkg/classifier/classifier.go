// Package classifier defines the text classifier the semantic model selector
// consults before scheduling. Backends live in subpackages (onnx, linear);
// wrappers that add behaviour to any backend (result cache, micro-batching)
// live beside them. Everything outside pkg/classifier talks to this interface
// only, so a backend can be swapped by configuration.
package classifier

import (
	"context"
	"errors"
)

// Result is the outcome of classifying one text.
type Result struct {
	// Label is the label with the highest score.
	Label string
	// Confidence is the probability of Label (softmax over the label scores), in [0, 1].
	Confidence float32
	// Scores holds one probability per label, aligned with Classifier.Labels().
	Scores []float32
	// Truncated reports that the input exceeded the classifier's input limit
	// and only a head+tail window of it was classified. Callers count it; the
	// text is never dropped silently.
	Truncated bool
	// Embedding is the sentence embedding the classifier computed on the way
	// to its scores (the pooled vector its classification head reads),
	// L2-normalised, so the dot product of two is their cosine. Nil when the
	// classifier yields none (EmbeddingDimOf is 0).
	Embedding []float32
}

// Classifier maps a text to one of a fixed set of labels.
//
// Implementations must be safe for concurrent use, must honour the context's
// deadline and cancellation, and must return a defined result (not an error)
// for any valid UTF-8 or invalid UTF-8 string, including the empty string.
type Classifier interface {
	// Labels returns the label set, fixed at load time, in score order.
	Labels() []string
	// Classify classifies one text.
	Classify(ctx context.Context, text string) (Result, error)
	// ClassifyBatch classifies several texts in one call; the results are in
	// input order.
	ClassifyBatch(ctx context.Context, texts []string) ([]Result, error)
	// Close releases the resources (sessions, native memory) the classifier holds.
	Close() error
}

// Preparer is implemented by a classifier whose per-text host work
// (tokenizing) can be done apart from the batched run. The micro-batcher
// prepares each text in its caller's goroutine before queueing it, so that
// this work spreads over the cores and overlaps with the batches in flight
// instead of delaying the batch it belongs to.
type Preparer interface {
	// Prepare does text's host work. It never fails: every string has a
	// defined result.
	Prepare(text string) Prepared
	// ClassifyPrepared classifies texts this classifier prepared, as
	// ClassifyBatch does; the results are in input order.
	ClassifyPrepared(ctx context.Context, prepared []Prepared) ([]Result, error)
}

// Prepared is a text as its classifier's Prepare left it; only that
// classifier reads it.
type Prepared any

// DeviceOf returns the device c runs on ("cpu", "cuda") when it reports one
// with a Device() method (the ONNX backend and the wrappers that pass it
// through do), else "".
func DeviceOf(c Classifier) string {
	if d, ok := c.(interface{ Device() string }); ok {
		return d.Device()
	}
	return ""
}

// EmbeddingDimOf returns the length of the embeddings c puts in its results
// when it reports one with an EmbeddingDim() method (the ONNX backend with an
// embedding output, and the wrappers that pass it through), else 0: c yields
// no embedding.
func EmbeddingDimOf(c Classifier) int {
	if e, ok := c.(interface{ EmbeddingDim() int }); ok {
		return e.EmbeddingDim()
	}
	return 0
}

// ErrClosed is returned by a classifier used after Close.
var ErrClosed = errors.New("classifier: closed")
