//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx/lockedthread"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// Shape buckets of the plain session on CUDA (shapeBuckets): a kernel that
// plans per shape (cuDNN's attention) then sees a few dozen shapes, each
// planned once per runner at load, instead of every batch size and sequence
// length the traffic makes.
const (
	// maxBucketBatch is the largest batch planned at load; larger batches
	// round up to a multiple of bucketBatchStep and are planned when first
	// seen.
	maxBucketBatch  = 512
	bucketBatchStep = 128
	// bucketSeqStep is the sequence step up to 64 tokens; past it the
	// buckets grow by half.
	bucketSeqStep = 16
)

// bucketBatch rounds a batch up to its bucket: powers of two up to 256,
// then multiples of bucketBatchStep (at most a third of the rows are
// padding there, where a batch's time is in its kernels).
func bucketBatch(n int) int {
	if n > 2*bucketBatchStep {
		return (n + bucketBatchStep - 1) / bucketBatchStep * bucketBatchStep
	}
	b := 1
	for b < n {
		b *= 2
	}
	return b
}

// sessionSeqs are the sequence buckets up to maxSeq: multiples of
// bucketSeqStep up to 64, then steps of half the last bucket, then maxSeq.
func sessionSeqs(maxSeq int) []int {
	var out []int
	for s := bucketSeqStep; s < maxSeq; {
		out = append(out, s)
		if s < 4*bucketSeqStep {
			s += bucketSeqStep
		} else {
			s += s / 2
		}
	}
	return append(out, maxSeq)
}

// bucketSeq rounds a sequence length up to its bucket.
func bucketSeq(n, maxSeq int) int {
	for _, s := range sessionSeqs(maxSeq) {
		if s >= n {
			return s
		}
	}
	return maxSeq
}

// sessionBatches are the batch buckets planned at load.
func sessionBatches() []int {
	var out []int
	for b := 1; b <= maxBucketBatch; b = bucketBatch(b + 1) {
		out = append(out, b)
	}
	return out
}

// shapeBuckets reports whether a classifier with o on device pads its
// session's batches to the buckets: on CUDA with an attention kernel that
// plans per shape (cuDNN's, which "auto" picks on Hopper). The exact fp32
// refinement model is not padded: cuDNN's attention does not run fp32.
func shapeBuckets(o Options, device string) bool {
	return device == DeviceCUDA && !o.exactFP32 && (o.AttentionKernel == "cudnn" || o.AttentionKernel == "auto")
}

// startRunners gives a CUDA classifier its runners: goroutines, each locked
// to its own OS thread, that make its session runs, as many as the
// micro-batcher's workers, spinning for spin before they park. ONNX Runtime's CUDA provider keeps state per OS
// thread (cuDNN's attention plans are cached thread-locally, keyed by the
// shape), and a cgo call runs on whichever thread its goroutine happens to
// be on: a micro-batcher's worker that waits on a channel between batches
// resumes on any of the process's threads, so without fixed threads a run
// can rebuild a plan it built a moment ago on another thread. With shape buckets each runner first runs every
// bucket shape up to maxBucketBatch once, so that its thread has planned
// them before traffic comes; the batches CUDA graphs run are left out.
func (c *Classifier) startRunners(ctx context.Context, workers int, spin time.Duration) error {
	warm := func() error { return nil }
	if c.buckets {
		empty := c.tok.Wrap(nil)
		warm = func() error {
			for _, b := range sessionBatches() {
				if c.graphs != nil && b <= maxGraphBatch {
					continue
				}
				for _, s := range sessionSeqs(c.maxSeqLen) {
					if _, _, err := c.runPadded(ctx, []tokenizer.Encoding{empty}, b, s); err != nil {
						return fmt.Errorf("warming up shape (%d, %d): %w", b, s, err)
					}
				}
			}
			return nil
		}
	}
	start := time.Now()
	r, err := lockedthread.Start(workers, spin, warm)
	if err != nil {
		return err
	}
	c.runners = r
	if c.buckets {
		log.FromContext(ctx).Info("CUDA runners planned the shape buckets", "runners", workers,
			"batches", sessionBatches(), "sequences", sessionSeqs(c.maxSeqLen), "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
