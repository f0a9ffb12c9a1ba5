package onnx

import (
	"strings"
	"testing"
)

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

func TestAttentionKernel(t *testing.T) {
	tests := []struct {
		kernel, wantErr string
	}{
		{"", ""}, {"efficient", ""}, {"flash", ""}, {"cudnn", ""}, {"math", ""}, {"auto", ""},
		{"fast", `attentionKernel "fast"`}, {"Flash", `attentionKernel "Flash"`},
	}
	for _, tt := range tests {
		err := Options{AttentionKernel: tt.kernel}.validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("attentionKernel %q: error %v, want %q", tt.kernel, err, tt.wantErr)
		}
	}
	o := Options{}
	o.applyDefaults()
	if o.AttentionKernel != DefaultAttentionKernel || attentionKernels[o.AttentionKernel] != "2" {
		t.Errorf("default attention kernel %q (sdpa_kernel %q), want efficient (2)", o.AttentionKernel, attentionKernels[o.AttentionKernel])
	}
}
