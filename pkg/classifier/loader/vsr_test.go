//go:build cgo

package loader

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

// vsrModelDirs are model directories in vLLM Semantic Router's layout
// (model.onnx, tokenizer.json, category_mapping.json, config.json) for the
// encoder families it exports besides BERT (../onnx/testdata/tiny):
// ModernBERT with a byte-level BPE tokenizer and mmBERT (ModernBERT with
// Gemma's byte-fallback tokenizer). testdata/gen_vsr_models.py builds them.
var vsrModelDirs = []string{"testdata/vsr-modernbert", "testdata/vsr-mmbert"}

// vsrCase is one text of reference.json with what Python gave for it.
type vsrCase struct {
	Text          string    `json:"text"`
	IDs           []int64   `json:"ids"`
	Truncated     bool      `json:"truncated"`
	Label         string    `json:"label"`
	Probabilities []float64 `json:"probabilities"`
}

// TestVSRModelDirs loads each directory as a classifier plugin does
// (backend onnx, modelDir) and checks ids, label and probabilities against
// Python's tokenizers and ONNX Runtime, text by text and as one padded
// batch.
func TestVSRModelDirs(t *testing.T) {
	requireONNX(t)
	for _, dir := range vsrModelDirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var ref struct {
				Cases []vsrCase `json:"cases"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &ref); err != nil || len(ref.Cases) == 0 {
				t.Fatalf("reference.json: %v (%d cases)", err, len(ref.Cases))
			}
			labels, err := classifier.ReadCategoryMapping(os.DirFS(dir))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Load(context.Background(), flat{Backend: "onnx", ModelDir: dir}.config(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			oc, ok := c.(*onnx.Classifier)
			if !ok {
				t.Fatalf("got %T, want *onnx.Classifier", c)
			}
			if !slices.Equal(c.Labels(), labels) || !slices.IsSorted(labels) || len(labels) != 14 {
				t.Fatalf("labels %v, want the 14 sorted labels of category_mapping.json %v", c.Labels(), labels)
			}
			texts := make([]string, len(ref.Cases))
			for i, tc := range ref.Cases {
				texts[i] = tc.Text
				if enc, truncated := oc.Encode(tc.Text); !slices.Equal(enc.IDs, tc.IDs) || truncated != tc.Truncated {
					t.Errorf("%.40q: ids (truncated %v)\n got %v\nwant %v (truncated %v)", tc.Text, truncated, enc.IDs, tc.IDs, tc.Truncated)
				}
				r, err := c.Classify(context.Background(), tc.Text)
				if err != nil {
					t.Fatal(err)
				}
				checkVSRResult(t, tc.Text, r, tc.Label, tc.Probabilities)
				if r.Truncated != tc.Truncated {
					t.Errorf("%.40q: Truncated %v, want %v", tc.Text, r.Truncated, tc.Truncated)
				}
			}
			got, err := oc.ClassifyBatch(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range got {
				checkVSRResult(t, "batch: "+texts[i], r, ref.Cases[i].Label, ref.Cases[i].Probabilities)
			}
		})
	}
}

func checkVSRResult(t *testing.T, what string, r classifier.Result, label string, probs []float64) {
	t.Helper()
	if r.Label != label || len(r.Scores) != len(probs) {
		t.Errorf("%.60q: label %q with %d scores, want %q with %d", what, r.Label, len(r.Scores), label, len(probs))
		return
	}
	for j, p := range probs {
		if math.Abs(float64(r.Scores[j])-p) > 1e-5 {
			t.Errorf("%.60q: probability %d = %v, want %v (ONNX Runtime in Python)", what, j, r.Scores[j], p)
		}
	}
}
