//go:build cgo

package onnx

import (
	"runtime"
	"sync"

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
