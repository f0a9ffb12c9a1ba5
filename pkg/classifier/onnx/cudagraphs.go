//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"math"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx/cudagraph"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// maxGraphBatch is the largest batch run as a CUDA graph. Larger batches
// spend their time in the kernels, not in launching them, and would need a
// captured graph (with its buffers) per size.
const maxGraphBatch = 8

// minGraphSeq is the shortest sequence bucket.
const minGraphSeq = 16

// graphTolerance bounds how far a graph's logits may lie from the plain
// session's on the load check: the same kernels at a padded shape differ in
// the last fp16 bits only.
const graphTolerance = 0.05

// graphSeqs are the sequence buckets: powers of two from minGraphSeq, then
// the limit itself.
func graphSeqs(maxSeq int) []int {
	var out []int
	for s := minGraphSeq; s < maxSeq; s *= 2 {
		out = append(out, s)
	}
	return append(out, maxSeq)
}

// graphBatches are the batch buckets: powers of two up to maxGraphBatch.
func graphBatches() []int {
	var out []int
	for b := 1; b <= maxGraphBatch; b *= 2 {
		out = append(out, b)
	}
	return out
}

// graphShape returns the captured shape a batch runs at, or false when it
// runs without graphs.
func graphShape(batch, seq, maxSeq int) (int, int, bool) {
	if batch > maxGraphBatch {
		return 0, 0, false
	}
	b := bucketBatch(batch) // a power of two up to maxGraphBatch
	for _, s := range graphSeqs(maxSeq) {
		if s >= seq {
			return b, s, true
		}
	}
	return 0, 0, false
}

// startGraphs captures every graph shape and checks one against the plain
// session. On failure it logs why and leaves the classifier without graphs.
func (c *Classifier) startGraphs(ctx context.Context, o Options, model []byte, widths []int) {
	logger := log.FromContext(ctx)
	envMu.Lock()
	lib := envPath
	envMu.Unlock()
	g, err := cudagraph.New(model, cudagraph.Options{LibraryPath: lib, DeviceID: o.DeviceID, Provider: cudaSettings(o),
		Inputs: c.inputs, Outputs: c.outputs(), Widths: widths, Spin: o.ThreadSpin.Duration, Memory: graphMemory(o)})
	if err == nil {
		if err = c.checkGraphs(ctx, g); err != nil {
			_ = g.Close()
		}
	}
	if err != nil {
		c.graphsErr = err
		logger.Error(err, "running the ONNX classifier on CUDA without CUDA graphs")
		return
	}
	c.graphs = g
	logger.Info("CUDA graphs captured", "batches", graphBatches(), "sequences", graphSeqs(c.maxSeqLen), "memory", o.CUDAGraphMemory)
}

// graphMemory is the cudagraph memory kind of o.CUDAGraphMemory.
func graphMemory(o Options) cudagraph.Memory {
	if o.CUDAGraphMemory == GraphMemoryDevice {
		return cudagraph.Device
	}
	return cudagraph.Mapped
}

// graphWarmRuns is how often checkGraphs runs each shape: ONNX Runtime runs
// a shape plainly, captures it on a later run and replays it from then on.
const graphWarmRuns = 4

// checkGraphs captures every shape (capturing later, beside other work on
// the device, would make that work fail) and compares the probe text's
// logits of every run with the plain session's.
func (c *Classifier) checkGraphs(ctx context.Context, g *cudagraph.Session) error {
	enc, _ := c.Encode("graph capture check: which model should answer this question?")
	want, _, err := c.runSession(ctx, []tokenizer.Encoding{enc}, len(enc.IDs))
	if err != nil {
		return err
	}
	for _, b := range graphBatches() {
		for _, s := range graphSeqs(c.maxSeqLen) {
			if len(enc.IDs) > s {
				// Too short for the probe: capture with an empty text.
				for range graphWarmRuns {
					if _, _, err := runGraph(g, c.inputs, []tokenizer.Encoding{c.tok.Wrap(nil)}, b, s); err != nil {
						return err
					}
				}
				continue
			}
			for range graphWarmRuns {
				got, _, err := runGraph(g, c.inputs, []tokenizer.Encoding{enc}, b, s)
				if err != nil {
					return err
				}
				for j := range want[0] {
					if d := math.Abs(float64(got[0][j] - want[0][j])); !(d <= graphTolerance) {
						return fmt.Errorf("CUDA graph at batch %d, sequence %d: logit %d is %g, the plain session's %g",
							b, s, j, got[0][j], want[0][j])
					}
				}
			}
		}
	}
	return nil
}

// runGraph runs encs (at most b, none longer than s) as the captured graph
// of shape (b, s); padInputs fills rows past len(encs), whose outputs are
// dropped.
func runGraph(g *cudagraph.Session, inputs []string, encs []tokenizer.Encoding, b, s int) ([][]float32, [][]float32, error) {
	data := padInputs(inputs, encs, b, s)
	outs, err := g.Run(b, s, data)
	if err != nil {
		return nil, nil, err
	}
	split := func(flat []float32) [][]float32 {
		w := len(flat) / b
		rows := make([][]float32, len(encs))
		for i := range rows {
			rows[i] = flat[i*w : (i+1)*w : (i+1)*w]
		}
		return rows
	}
	logits := split(outs[0])
	if len(outs) < 2 {
		return logits, nil, nil
	}
	return logits, split(outs[1]), nil
}
