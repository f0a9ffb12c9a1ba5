package selection

import (
	"context"
	"errors"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// counting labels every text "x" and counts its calls; it fails when err is set.
type counting struct {
	calls int
	err   error
}

func (c *counting) Labels() []string { return []string{"x"} }
func (c *counting) Classify(_ context.Context, text string) (classifier.Result, error) {
	c.calls++
	return classifier.Result{Label: "x", Confidence: float32(len(text))}, c.err
}
func (c *counting) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	out := make([]classifier.Result, len(texts))
	for i, t := range texts {
		out[i], _ = c.Classify(ctx, t)
	}
	return out, c.err
}
func (c *counting) Close() error { return nil }

// valueClassifier is a classifier whose type cannot be a map key.
type valueClassifier struct {
	*counting
	_ []int
}

func TestClassifyOncePerClassifier(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		calls     int // Classify calls on the request
		err       error
		wantCalls int
	}{
		{"once", 1, nil, 1},
		{"reused", 3, nil, 1},
		{"errors are kept too", 2, boom, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &counting{err: tt.err}
			req := &Request{Text: "abc"}
			if _, ok := req.Classification(c); ok {
				t.Fatal("a classification before any ran")
			}
			for range tt.calls {
				cl := req.Classify(context.Background(), c)
				if !errors.Is(cl.Err, tt.err) || cl.Result.Confidence != 3 {
					t.Fatalf("classification %+v, want confidence 3 and error %v", cl, tt.err)
				}
			}
			if c.calls != tt.wantCalls {
				t.Errorf("classifier called %d times, want %d", c.calls, tt.wantCalls)
			}
			if _, ok := req.Classification(c); !ok {
				t.Error("the classification was not kept")
			}
		})
	}
}

func TestClassifyKeepsClassifiersApart(t *testing.T) {
	a, b := &counting{}, &counting{}
	req := &Request{Text: "abc"}
	req.Classify(context.Background(), a)
	req.Classify(context.Background(), b)
	req.Classify(context.Background(), a)
	if a.calls != 1 || b.calls != 1 {
		t.Errorf("calls a=%d b=%d, want 1 each", a.calls, b.calls)
	}
	// A type that cannot be a map key is classified each time, not a panic.
	v := valueClassifier{counting: &counting{}}
	req.Classify(context.Background(), v)
	req.Classify(context.Background(), v)
	if v.calls != 2 {
		t.Errorf("non-comparable classifier called %d times, want 2", v.calls)
	}
	var nilReq *Request
	if _, ok := nilReq.Classification(a); ok {
		t.Error("a nil request has a classification")
	}
}
