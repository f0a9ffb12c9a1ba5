//go:build cgo

package onnx

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

const (
	shippedModelDir = "../../../models/domain-minilm"
	sharedDevFile   = "../../../../shared/data/domain/dev.jsonl"
	// shippedDevRows is how many dev rows the test classifies (the first
	// ones): enough to catch a broken pipeline, cheap on two cores.
	shippedDevRows = 300
	// shippedMinAccuracy is far below the trained model's dev accuracy and
	// above the TF-IDF baseline's floor: a mismatch between Go's inputs and
	// the ones the model was trained on drops accuracy well under it.
	shippedMinAccuracy = 0.75
)

// TestShippedModel runs the trained model of models/domain-minilm, when the
// repository has it, on the shared dev set.
func TestShippedModel(t *testing.T) {
	if _, err := os.Stat(filepath.Join(shippedModelDir, ModelFile)); err != nil {
		t.Skipf("no shipped ONNX model in %s yet", shippedModelDir)
	}
	requireRuntime(t)
	f, err := os.Open(sharedDevFile)
	if err != nil {
		t.Fatalf("the shared data folder is missing (%v): it is expected at ../shared/data beside the repository", err)
	}
	defer func() { _ = f.Close() }()
	c, err := Load(context.Background(), classifier.Config{}, os.DirFS(shippedModelDir))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	var texts, want []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() && len(texts) < shippedDevRows {
		var row struct{ Text, Label string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("dev.jsonl: %v", err)
		}
		texts, want = append(texts, row.Text), append(want, row.Label)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i := 0; i < len(texts); i += 16 {
		res, err := c.ClassifyBatch(context.Background(), texts[i:min(i+16, len(texts))])
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range res {
			if r.Label == want[i+j] {
				correct++
			}
		}
	}
	acc := float64(correct) / float64(len(texts))
	t.Logf("shipped model: accuracy %.3f on the first %d dev rows (max sequence %d, device %s)", acc, len(texts), c.MaxSeqLen(), c.Device())
	if acc < shippedMinAccuracy {
		t.Fatalf("accuracy %.3f < %.2f: Go inputs probably differ from the training pipeline's", acc, shippedMinAccuracy)
	}
}
