//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// BenchmarkRun times the ONNX Runtime run alone, on encodings made before
// the clock starts, so a batch's host tokenization (BenchmarkBatch includes
// it) and its session run can be told apart. runners=N runs N batches at
// once on the one session, as the micro-batcher's workers do: on a GPU it
// shows whether runs overlap or queue behind each other.
func BenchmarkRun(b *testing.B) {
	for _, m := range benchModels {
		for _, n := range []int{1, 64, 256, 512, 1024} {
			for _, runners := range []int{1, 2, 4} {
				if n == 1 && runners > 1 {
					continue
				}
				b.Run(fmt.Sprintf("%s/batch=%d/runners=%d", m.name, n, runners), func(b *testing.B) {
					benchRun(b, loadBench(b, m, 512), n, runners)
				})
			}
		}
	}
}

func benchRun(b *testing.B, c *Classifier, n, runners int) {
	text := textOfTokens(b, c, 128)
	enc, _ := c.Encode(text)
	encs := make([]tokenizer.Encoding, n)
	for i := range encs {
		encs[i] = enc
	}
	ctx := context.Background()
	if _, err := c.run(ctx, encs); err != nil { // the first run of a shape allocates
		b.Fatal(err)
	}
	durs := make([][]time.Duration, runners)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for r := range runners {
		wg.Go(func() {
			for i := r; i < b.N; i += runners {
				t0 := time.Now()
				if _, err := c.run(ctx, encs); err != nil {
					b.Error(err)
					return
				}
				durs[r] = append(durs[r], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, d := range durs {
		all = append(all, d...)
	}
	reportPercentiles(b, all)
	b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "texts/s")
}

// BenchmarkEncode times a batch's host tokenization alone (encodeAll, spread
// over the cores), the other part of BenchmarkBatch.
func BenchmarkEncode(b *testing.B) {
	for _, m := range benchModels {
		for _, n := range []int{64, 512, 1024} {
			b.Run(fmt.Sprintf("%s/batch=%d", m.name, n), func(b *testing.B) {
				c := loadBench(b, m, 512)
				texts := make([]string, n)
				for i := range texts {
					texts[i] = textOfTokens(b, c, 128)
				}
				start := time.Now()
				for b.Loop() {
					c.encodeAll(texts)
				}
				b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "texts/s")
			})
		}
	}
}
