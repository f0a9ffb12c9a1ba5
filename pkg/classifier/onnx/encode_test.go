//go:build cgo

package onnx

import (
	"context"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// TestClassifyPrepared: texts tokenized by Prepare classify as ClassifyBatch
// classifies them (truncation included); a value Prepare of another
// classifier made, or anything else, is refused with an error.
func TestClassifyPrepared(t *testing.T) {
	c := loadTiny(t)
	texts := []string{"", "What is the derivative of sin(x)?", "the court held the contract void", strings.Repeat("enzyme kinetics ", 5000)}
	want, err := c.ClassifyBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]classifier.Prepared, len(texts))
	for i, text := range texts {
		ps[i] = c.Prepare(text)
	}
	got, err := c.ClassifyPrepared(context.Background(), ps)
	if err != nil {
		t.Fatal(err)
	}
	for i := range texts {
		if got[i].Label != want[i].Label || got[i].Truncated != want[i].Truncated || !closeTo(got[i].Scores, want[i].Scores, 1e-6) {
			t.Errorf("text %d: prepared %+v, batch %+v", i, got[i], want[i])
		}
	}
	if !want[3].Truncated {
		t.Error("the long text was not truncated: the case proves nothing")
	}

	other := loadTiny(t)
	tests := []struct {
		name string
		in   []classifier.Prepared
	}{
		{name: "another classifier's", in: []classifier.Prepared{ps[0], other.Prepare("law")}},
		{name: "a raw text", in: []classifier.Prepared{"law"}},
		{name: "nil", in: []classifier.Prepared{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.ClassifyPrepared(context.Background(), tt.in); err == nil || !strings.Contains(err.Error(), "not prepared by this classifier") {
				t.Fatalf("err %v, want a refusal", err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ClassifyPrepared(ctx, ps); err == nil {
		t.Error("a cancelled context classified")
	}
}
