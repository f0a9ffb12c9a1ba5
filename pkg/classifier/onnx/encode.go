//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// parallelEncodeMin is the batch size from which ClassifyBatch tokenizes on
// several goroutines. Tokenizing is the only host work of a batch that grows
// with its size; done in one goroutine it caps a GPU session at what one core
// tokenizes (docs/results/gpu-default/).
const parallelEncodeMin = 16

// encodeAll tokenizes texts as Encode does, spread over the cores for large
// batches, and counts the truncated ones.
func (c *Classifier) encodeAll(texts []string) ([]tokenizer.Encoding, []bool) {
	encs := make([]tokenizer.Encoding, len(texts))
	truncated := make([]bool, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts)/parallelEncodeMin*2)
	if workers <= 1 {
		for i, t := range texts {
			encs[i], truncated[i] = c.Encode(t)
		}
	} else {
		var wg sync.WaitGroup
		per := (len(texts) + workers - 1) / workers
		for lo := 0; lo < len(texts); lo += per {
			hi := min(lo+per, len(texts))
			wg.Go(func() {
				for i := lo; i < hi; i++ {
					encs[i], truncated[i] = c.Encode(texts[i])
				}
			})
		}
		wg.Wait()
	}
	for _, t := range truncated {
		if t {
			truncatedInputs.Inc()
		}
	}
	return encs, truncated
}

// prepared is a text tokenized by Prepare, tied to the classifier whose
// tokenizer and sequence limit made it.
type prepared struct {
	owner     *Classifier
	enc       tokenizer.Encoding
	truncated bool
}

var _ classifier.Preparer = (*Classifier)(nil)

// Prepare tokenizes text as Classify would (counting a truncation), so that
// the micro-batcher can do it in the caller's goroutine.
func (c *Classifier) Prepare(text string) classifier.Prepared {
	enc, truncated := c.Encode(text)
	if truncated {
		truncatedInputs.Inc()
	}
	return &prepared{owner: c, enc: enc, truncated: truncated}
}

// ClassifyPrepared classifies texts Prepare tokenized, in one run as
// ClassifyBatch does.
func (c *Classifier) ClassifyPrepared(ctx context.Context, ps []classifier.Prepared) ([]classifier.Result, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("onnx classify: %w", err)
	}
	encs := make([]tokenizer.Encoding, len(ps))
	truncated := make([]bool, len(ps))
	for i, p := range ps {
		e, ok := p.(*prepared)
		if !ok || e.owner != c {
			return nil, fmt.Errorf("onnx classify: input %d (%T) was not prepared by this classifier", i, p)
		}
		encs[i], truncated[i] = e.enc, e.truncated
	}
	return c.classifyEncoded(ctx, encs, truncated)
}
