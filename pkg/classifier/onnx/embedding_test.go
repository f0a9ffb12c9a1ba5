//go:build cgo

package onnx

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// TestEmbeddingOutput: which output the backend reads as the embedding, by
// the embeddingOutput parameter and the graph.
func TestEmbeddingOutput(t *testing.T) {
	requireRuntime(t)
	tests := []struct {
		name    string
		dir     string
		output  string
		wantDim int
		wantErr string
	}{
		{"shipped, default name", shippedModelDir, "", 384, ""},
		{"shipped, named", shippedModelDir, DefaultEmbeddingOutput, 384, ""},
		{"shipped, absent name", shippedModelDir, "pooled", 0, `embeddingOutput "pooled": model.onnx has no such output`},
		{"shipped, the logits", shippedModelDir, Logits, 0, "that is the logits output"},
		{"no embedding output: none", "testdata/tiny", "", 0, ""},
		{"no embedding output, named", "testdata/tiny", DefaultEmbeddingOutput, 0, "has no such output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(context.Background(), Options{IntraOpThreads: 1, EmbeddingOutput: tt.output}, os.DirFS(tt.dir))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			if d := classifier.EmbeddingDimOf(c); d != tt.wantDim {
				t.Errorf("EmbeddingDimOf = %d, want %d", d, tt.wantDim)
			}
			res, err := c.Classify(context.Background(), "What is the integral of x squared?")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Embedding) != tt.wantDim {
				t.Errorf("embedding of length %d, want %d", len(res.Embedding), tt.wantDim)
			}
		})
	}
}

// TestShippedEmbedding: the shipped graph's embeddings are unit vectors,
// the same for a text alone or in a padded batch (up to int8 activation
// scaling, which depends on the batch), and closer for texts of one domain.
func TestShippedEmbedding(t *testing.T) {
	requireRuntime(t)
	c, err := Load(context.Background(), Options{IntraOpThreads: 1}, os.DirFS(shippedModelDir))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	texts := []string{
		"What is the integral of 2x from 0 to 3?",
		"Solve the equation x^2 - 5x + 6 = 0 for x.",
		"A plaintiff sues for breach of contract; which defence is the strongest?",
		"",
	}
	batch, err := c.ClassifyBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		one, err := c.Classify(context.Background(), text)
		if err != nil {
			t.Fatal(err)
		}
		if n := norm(one.Embedding); math.Abs(n-1) > 1e-5 {
			t.Errorf("%q: |embedding| = %v, want 1", text, n)
		}
		if cos := dot(one.Embedding, batch[i].Embedding); cos < 0.98 {
			t.Errorf("%q: cosine %.4f between its embedding alone and in a batch", text, cos)
		}
	}
	math2, law := dot(batch[0].Embedding, batch[1].Embedding), dot(batch[0].Embedding, batch[2].Embedding)
	if math2 <= law {
		t.Errorf("cosine math/math %.3f <= math/law %.3f", math2, law)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want []float32
	}{
		{[]float32{3, 4}, []float32{0.6, 0.8}},
		{[]float32{0, 0}, []float32{0, 0}},
		{[]float32{-2}, []float32{-1}},
	}
	for _, tt := range tests {
		got := normalize(append([]float32(nil), tt.in...))
		for i := range got {
			if math.Abs(float64(got[i]-tt.want[i])) > 1e-6 {
				t.Errorf("normalize(%v) = %v, want %v", tt.in, got, tt.want)
				break
			}
		}
	}
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func norm(v []float32) float64 { return math.Sqrt(dot(v, v)) }
