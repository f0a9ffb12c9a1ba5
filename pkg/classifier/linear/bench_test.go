package linear_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

// benchText returns a question-like English text of n words.
func benchText(n int) string {
	words := strings.Fields(`Which of the following best describes the effect of an increase in
		the money supply on interest rates and investment when the economy is at full employment
		according to the classical model of aggregate demand and supply in the long run`)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[i%len(words)])
	}
	return b.String()
}

func shippedModel(b *testing.B) *linear.Model {
	b.Helper()
	fsys, err := models.Linear()
	if err != nil {
		b.Fatal(err)
	}
	m, err := linear.Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkClassify is the latency of one call on the shipped model for
// inputs of 16, 128 and 512 words (the linear backend's tokens).
func BenchmarkClassify(b *testing.B) {
	m := shippedModel(b)
	ctx := context.Background()
	for _, n := range []int{16, 128, 512} {
		text := benchText(n)
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Classify(ctx, text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThroughput classifies 32-word texts from 1, 8 and 64 goroutines
// per GOMAXPROCS; compare ns/op across them (lower is more throughput).
func BenchmarkThroughput(b *testing.B) {
	m := shippedModel(b)
	ctx := context.Background()
	text := benchText(32)
	for _, p := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", p), func(b *testing.B) {
			b.SetParallelism(p)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.Classify(ctx, text); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkTrain trains on 2,000 synthetic rows (the full data set is timed
// by `make linear-model`).
func BenchmarkTrain(b *testing.B) {
	labels := []string{"a", "b", "c", "d"}
	data := make([]linear.Example, 2000)
	for i := range data {
		data[i] = linear.Example{Text: benchText(10 + i%30)[i%7:], Label: i % 4}
	}
	opt := linear.DefaultTrainOptions()
	opt.Epochs = 2
	for b.Loop() {
		if _, err := linear.Train(context.Background(), labels, data, opt); err != nil {
			b.Fatal(err)
		}
	}
}
