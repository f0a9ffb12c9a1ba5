package cudagraph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewFailsCleanly: without a GPU (no CUDA runtime) or with a model that
// is not ONNX, New returns an error naming what failed, never a crash.
func TestNewFailsCleanly(t *testing.T) {
	lib, err := filepath.Abs("../../../../.cache/onnxruntime/libonnxruntime.so.1")
	if err != nil {
		t.Fatal(err)
	}
	if env := os.Getenv("ONNXRUNTIME_LIB"); env != "" {
		lib = env
	}
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("no ONNX Runtime library at %s (make onnxruntime)", lib)
	}
	o := Options{LibraryPath: lib, Inputs: []string{"input_ids"}, Outputs: []string{"logits"}, Widths: []int{2}}
	tests := []struct {
		name  string
		model []byte
		o     Options
		want  []string // one of
	}{
		{"empty model", nil, o, []string{"empty model"}},
		{"widths", []byte("x"), Options{LibraryPath: lib, Inputs: o.Inputs, Outputs: o.Outputs}, []string{"1 outputs but 0 widths"}},
		{"not onnx", []byte("not an onnx model"), o, []string{"loading the CUDA runtime", "creating the session", "CUDA execution provider"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.model, tt.o)
			if err == nil {
				_ = s.Close()
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if strings.Contains(err.Error(), w) {
					return
				}
			}
			t.Errorf("error %q names none of %q", err, tt.want)
		})
	}
}
