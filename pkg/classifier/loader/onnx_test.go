//go:build cgo

package loader

import (
	"context"
	"os"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/batching"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

const tinyONNXDir = "../onnx/testdata/tiny"

// requireONNX stops a test that needs ONNX Runtime when it cannot be loaded.
func requireONNX(t testing.TB) {
	t.Helper()
	if err := ONNXAvailable(classifier.Config{}); err != nil {
		t.Fatalf("ONNX Runtime is needed: run `make onnxruntime`: %v", err)
	}
}

func TestLoadONNXWiring(t *testing.T) {
	requireONNX(t)
	tests := []struct {
		name    string
		cfg     classifier.Config
		batched bool
	}{
		{name: "unbatched", cfg: classifier.Config{Backend: "onnx", ModelDir: tinyONNXDir}},
		{name: "batched", cfg: classifier.Config{Backend: "onnx", ModelDir: tinyONNXDir, MaxBatchSize: 8}, batched: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadONNX(context.Background(), tt.cfg, os.DirFS(tinyONNXDir))
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
			// Through the public entry point too.
			lc, err := Load(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = lc.Close() }()
			if got := lc.Labels(); len(got) != 4 {
				t.Fatalf("labels %v", got)
			}
		})
	}
}

func TestBatchWorkers(t *testing.T) {
	tests := []struct {
		device       string
		threads, cpu int
		want         int
	}{
		{"cuda", 0, 16, 2},
		{"cpu", 0, 16, 1},
		{"cpu", 1, 2, 2},
		{"cpu", 4, 16, 4},
		{"cpu", 8, 2, 1},
	}
	for _, tt := range tests {
		if got := BatchWorkers(tt.device, tt.threads, tt.cpu); got != tt.want {
			t.Errorf("BatchWorkers(%q, %d, %d) = %d, want %d", tt.device, tt.threads, tt.cpu, got, tt.want)
		}
	}
}
