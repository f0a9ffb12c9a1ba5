//go:build cgo

package loader

import (
	"context"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/batching"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

const tinyONNXDir = "../onnx/testdata/tiny"

// requireONNX stops a test that needs ONNX Runtime when it cannot be loaded.
func requireONNX(t testing.TB) {
	t.Helper()
	if err := onnx.Available("", ""); err != nil {
		t.Fatalf("ONNX Runtime is needed: run `make onnxruntime`: %v", err)
	}
}

func TestLoadONNXWiring(t *testing.T) {
	requireONNX(t)
	tests := []struct {
		name    string
		cfg     flat
		batched bool
	}{
		{name: "unbatched", cfg: flat{Backend: "onnx", ModelDir: tinyONNXDir}},
		{name: "batch size 1 is unbatched", cfg: flat{Backend: "onnx", ModelDir: tinyONNXDir, MaxBatchSize: 1}},
		{name: "batched", cfg: flat{Backend: "onnx", ModelDir: tinyONNXDir, MaxBatchSize: 8}, batched: true},
		{name: "auto batched", cfg: flat{ModelDir: tinyONNXDir, MaxBatchSize: 8}, batched: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(context.Background(), tt.cfg.config(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			switch c.(type) {
			case *batching.Batcher:
				if !tt.batched {
					t.Fatalf("got a batcher for %+v", tt.cfg)
				}
			case *onnx.Classifier:
				if tt.batched {
					t.Fatalf("got no batcher for %+v", tt.cfg)
				}
			default:
				t.Fatalf("unexpected %T", c)
			}
			r, err := c.Classify(context.Background(), "Which court hears the appeal?")
			if err != nil || len(r.Scores) != 4 {
				t.Fatalf("classify: %+v, %v", r, err)
			}
		})
	}
}

// TestLinearIsNotBatched: maxBatchSize applies where a batch pays off (an
// ONNX Runtime session), never to the linear model.
func TestLinearIsNotBatched(t *testing.T) {
	c, err := Load(context.Background(), flat{Backend: "linear", MaxBatchSize: 8}.config(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, ok := c.(*linear.Model); !ok {
		t.Fatalf("got %T, want the linear model unwrapped", c)
	}
}
