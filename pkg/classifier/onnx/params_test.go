package onnx

import "testing"

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
