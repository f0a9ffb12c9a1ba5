package onnx

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBatchWorkers(t *testing.T) {
	tests := []struct {
		device       string
		threads, cpu int
		want         int
	}{
		{"cuda", 0, 16, 3},
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

// wantValidateErr fails unless o.validate() returns nil (wantErr "") or an
// error that contains wantErr.
func wantValidateErr(t *testing.T, o Options, wantErr string) {
	t.Helper()
	err := o.validate()
	if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
		t.Errorf("options %+v: error %v, want %q", o, err, wantErr)
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
		wantValidateErr(t, Options{AttentionKernel: tt.kernel}, tt.wantErr)
	}
	o := Options{}
	o.applyDefaults()
	if o.AttentionKernel != DefaultAttentionKernel || attentionKernels[o.AttentionKernel] != "8" {
		t.Errorf("default attention kernel %q (sdpa_kernel %q), want cudnn (8)", o.AttentionKernel, attentionKernels[o.AttentionKernel])
	}
	if !shapeBuckets(o, DeviceCUDA) {
		t.Error("the default attention kernel on CUDA does not pad to the shape buckets")
	}
}

func TestCUDAGraphsOption(t *testing.T) {
	tests := []struct {
		value, wantErr string
	}{
		{"", ""}, {"on", ""}, {"off", ""},
		{"true", `cudaGraphs "true"`}, {"On", `cudaGraphs "On"`},
	}
	for _, tt := range tests {
		wantValidateErr(t, Options{CUDAGraphs: tt.value}, tt.wantErr)
	}
	o := Options{}
	o.applyDefaults()
	if o.CUDAGraphs != CUDAGraphsOn {
		t.Errorf("default cudaGraphs %q, want %q", o.CUDAGraphs, CUDAGraphsOn)
	}
}

func TestCUDAGraphMemoryOption(t *testing.T) {
	tests := []struct {
		value, wantErr string
	}{
		{"", ""}, {"mapped", ""}, {"device", ""},
		{"host", `cudaGraphMemory "host"`}, {"Mapped", `cudaGraphMemory "Mapped"`},
	}
	for _, tt := range tests {
		wantValidateErr(t, Options{CUDAGraphMemory: tt.value}, tt.wantErr)
	}
	o := Options{}
	o.applyDefaults()
	if o.CUDAGraphMemory != GraphMemoryMapped {
		t.Errorf("default cudaGraphMemory %q, want %q", o.CUDAGraphMemory, GraphMemoryMapped)
	}
}

func TestSessionsOption(t *testing.T) {
	tests := []struct {
		sessions int
		wantErr  string
	}{
		{0, ""}, {1, ""}, {maxSessions, ""},
		{-1, "sessions -1"}, {maxSessions + 1, fmt.Sprintf("sessions %d", maxSessions+1)},
	}
	for _, tt := range tests {
		wantValidateErr(t, Options{Sessions: tt.sessions}, tt.wantErr)
	}
	o := Options{}
	o.applyDefaults()
	if o.Sessions != 1 {
		t.Errorf("default sessions %d, want 1", o.Sessions)
	}
}

func TestGraphShapes(t *testing.T) {
	tests := []struct {
		batch, seq, maxSeq int
		wantB, wantS       int
		ok                 bool
	}{
		{1, 128, 512, 1, 128, true},
		{1, 9, 512, 1, 16, true},
		{3, 129, 512, 4, 256, true},
		{8, 512, 512, 8, 512, true},
		{1, 200, 200, 1, 200, true}, // the last bucket is the limit itself
		{1, 130, 200, 1, 200, true},
		{9, 16, 512, 0, 0, false}, // larger batches run without graphs
	}
	for _, tt := range tests {
		b, s, ok := graphShape(tt.batch, tt.seq, tt.maxSeq)
		if b != tt.wantB || s != tt.wantS || ok != tt.ok {
			t.Errorf("graphShape(%d, %d, %d) = %d, %d, %v; want %d, %d, %v", tt.batch, tt.seq, tt.maxSeq, b, s, ok, tt.wantB, tt.wantS, tt.ok)
		}
	}
	if got := graphSeqs(512); len(got) != 6 || got[0] != 16 || got[5] != 512 {
		t.Errorf("graphSeqs(512) = %v, want 16 … 512", got)
	}
	if got := graphSeqs(200); got[len(got)-1] != 200 || got[len(got)-2] != 128 {
		t.Errorf("graphSeqs(200) = %v, want … 128, 200", got)
	}
}

func TestThreadSpin(t *testing.T) {
	tests := []struct {
		json    string
		want    time.Duration
		wantErr string
	}{
		{`{}`, 0, ""},
		{`{"threadSpin": "0s"}`, 0, ""},
		{`{"threadSpin": "500us"}`, 500 * time.Microsecond, ""},
		{`{"threadSpin": "100ms"}`, 100 * time.Millisecond, ""},
		{`{"threadSpin": "-1ms"}`, -time.Millisecond, "threadSpin -1ms: want 0s to 100ms"},
		{`{"threadSpin": "1s"}`, time.Second, "threadSpin 1s: want 0s to 100ms"},
	}
	for _, tt := range tests {
		var o Options
		if err := json.Unmarshal([]byte(tt.json), &o); err != nil {
			t.Fatalf("%s: %v", tt.json, err)
		}
		wantValidateErr(t, o, tt.wantErr)
		o.applyDefaults()
		if got := o.ThreadSpin.Duration; got != tt.want {
			t.Errorf("%s: threadSpin %s, want %s", tt.json, got, tt.want)
		}
	}
	var o Options
	if err := json.Unmarshal([]byte(`{"threadSpin": "fast"}`), &o); err == nil {
		t.Error(`threadSpin "fast" decoded without an error`)
	}
}
