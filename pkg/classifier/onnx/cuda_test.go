//go:build cgo

package onnx

import (
	"context"
	"os"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// CUDATestEnv, set to 1, runs TestCUDAParity: on a machine with a GPU, with
// ONNXRUNTIME_LIB pointing at the CUDA library set (`make onnxruntime-cuda`).
const CUDATestEnv = "SEMANTIC_EPP_TEST_CUDA"

func cudaRequested() bool { return os.Getenv(CUDATestEnv) == "1" }

// TestCUDAParity checks the CUDA execution provider against the Python CPU
// reference, one text at a time and as a padded batch.
func TestCUDAParity(t *testing.T) {
	if !cudaRequested() {
		t.Skipf("set %s=1 (and %s to the CUDA library set) on a GPU machine", CUDATestEnv, LibraryEnv)
	}
	requireRuntime(t)
	c, err := Load(context.Background(), classifier.Config{Device: "cuda", CUDAFallback: "fail"}, os.DirFS("testdata/tiny"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if c.Device() != "cuda" {
		t.Fatalf("device %q", c.Device())
	}
	ref := readReference(t)
	var encs []tokenizer.Encoding
	for i, row := range ref.Rows {
		enc, _ := c.Encode(row.Text)
		encs = append(encs, enc)
		logits, err := c.run(context.Background(), []tokenizer.Encoding{enc})
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(logits[0], row.Logits, 1e-3) {
			t.Errorf("row %d: cuda logits %v, want %v", i, logits[0], row.Logits)
		}
	}
	batch, err := c.run(context.Background(), encs)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range batch {
		if !closeTo(l, ref.Rows[i].Logits, 1e-3) {
			t.Errorf("batch row %d: cuda logits %v, want %v", i, l, ref.Rows[i].Logits)
		}
	}
}
