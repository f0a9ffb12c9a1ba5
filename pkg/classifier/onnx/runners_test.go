//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestBuckets(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{1, 1}, {2, 2}, {3, 4}, {8, 8}, {9, 16}, {17, 32}, {100, 128}, {256, 256},
		{257, 384}, {384, 384}, {385, 512}, {512, 512}, {513, 640}, {1000, 1024},
	} {
		if got := bucketBatch(tc.n); got != tc.want {
			t.Errorf("bucketBatch(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		maxSeq int
		want   []int
	}{
		{128, []int{16, 32, 48, 64, 96, 128}},
		{512, []int{16, 32, 48, 64, 96, 144, 216, 324, 486, 512}},
		{40, []int{16, 32, 40}},
		{16, []int{16}},
	} {
		if got := sessionSeqs(tc.maxSeq); !slices.Equal(got, tc.want) {
			t.Errorf("sessionSeqs(%d) = %v, want %v", tc.maxSeq, got, tc.want)
		}
	}
	for _, tc := range []struct{ n, want int }{{1, 16}, {16, 16}, {17, 32}, {65, 96}, {97, 128}, {128, 128}} {
		if got := bucketSeq(tc.n, 128); got != tc.want {
			t.Errorf("bucketSeq(%d, 128) = %d, want %d", tc.n, got, tc.want)
		}
	}
	if got, want := sessionBatches(), []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512}; !slices.Equal(got, want) {
		t.Errorf("sessionBatches() = %v, want %v", got, want)
	}
}

func TestShapeBuckets(t *testing.T) {
	for _, tc := range []struct {
		o      Options
		device string
		want   bool
	}{
		{Options{AttentionKernel: "cudnn"}, DeviceCUDA, true},
		{Options{AttentionKernel: "auto"}, DeviceCUDA, true},
		{Options{AttentionKernel: "efficient"}, DeviceCUDA, false},
		{Options{AttentionKernel: "cudnn"}, DeviceCPU, false},
		{Options{AttentionKernel: "cudnn", exactFP32: true}, DeviceCUDA, false},
	} {
		if got := shapeBuckets(tc.o, tc.device); got != tc.want {
			t.Errorf("shapeBuckets(%+v, %s) = %v, want %v", tc.o, tc.device, got, tc.want)
		}
	}
}

// TestBucketedRuns: a classifier that pads its runs to the buckets and runs
// them on runners gives the unpadded results (on the CPU here: the padding
// is masked, and padded rows are dropped).
func TestBucketedRuns(t *testing.T) {
	requireRuntime(t)
	// A short limit keeps the warm-up (every bucket shape on each runner)
	// quick on the CPU.
	load := func() *Classifier {
		c, err := Load(context.Background(), Options{IntraOpThreads: 1, MaxSeqLen: 32}, os.DirFS("testdata/tiny"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	plain, padded := load(), load()
	padded.buckets = true
	if err := padded.startRunners(context.Background(), 2, 0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 3, 9, 20} {
		texts := make([]string, n)
		for i := range texts {
			texts[i] = fmt.Sprintf("text %d %s", i, strings.Repeat("law ", i*3))
		}
		want, err := plain.ClassifyBatch(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := padded.ClassifyBatch(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("batch %d: %d results", n, len(got))
		}
		for i := range texts {
			if got[i].Label != want[i].Label || !closeTo(got[i].Scores, want[i].Scores, 1e-5) {
				t.Errorf("batch %d text %d: %+v padded, %+v plain", n, i, got[i], want[i])
			}
		}
	}
}
