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

// variants are the shipped model and the same n-gram weights without its
// lexicon head (the model before the head shipped), run side by side (each
// size runs both in turn, so a busy machine slows them alike).
func variants(b *testing.B) []struct {
	name string
	m    *linear.Model
} {
	m := shippedModel(b)
	return []struct {
		name string
		m    *linear.Model
	}{{"head=on", m}, {"head=off", linear.WithoutHead(m)}}
}

// BenchmarkClassify is the latency of one call on the shipped model for the
// guide's Linux prompt and inputs of 8, 16, 128 and 512 words (the linear
// backend's tokens), with and without the lexicon head (which acts below its
// gate, 64 words).
func BenchmarkClassify(b *testing.B) {
	ctx := context.Background()
	vs := variants(b)
	type input struct{ name, text string }
	// The guide's prompt has a lexicon word ("linux"); benchText's words
	// are all in train.jsonl, so the head pools nothing for them.
	inputs := []input{{"guide", "Linux is said to be an open source kernel because"}}
	for _, n := range []int{8, 16, 128, 512} {
		inputs = append(inputs, input{fmt.Sprintf("tokens=%d", n), benchText(n)})
	}
	for _, in := range inputs {
		for _, v := range vs {
			b.Run(in.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.m.Classify(ctx, in.text); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkThroughput classifies 32-word texts from 1, 8 and 64 goroutines
// per GOMAXPROCS, with and without the head; compare ns/op across them
// (lower is more throughput).
func BenchmarkThroughput(b *testing.B) {
	ctx := context.Background()
	text := benchText(32)
	vs := variants(b)
	for _, p := range []int{1, 8, 64} {
		for _, v := range vs {
			b.Run(fmt.Sprintf("concurrency=%d/%s", p, v.name), func(b *testing.B) {
				b.SetParallelism(p)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := v.m.Classify(ctx, text); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
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
