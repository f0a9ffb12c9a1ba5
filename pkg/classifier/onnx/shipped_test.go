//go:build cgo

package onnx

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	texts, want := readRows(t, sharedDevFile, shippedDevRows)
	c, err := Load(context.Background(), Options{}, os.DirFS(shippedModelDir))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
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

// TestShippedModelInfo: the files of models/domain-minilm are the ones its
// model_info.json records (sha256), and the embedding output it records
// (domainclf.embedout, `make model-embedding`) is the one the backend reads.
func TestShippedModelInfo(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(shippedModelDir, "model_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Files     map[string]string `json:"files"`
		Embedding struct {
			Output string `json:"output"`
			Dim    int    `json:"dim"`
		} `json:"embedding"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Files) == 0 || info.Files[ModelFile] == "" {
		t.Fatalf("model_info.json records no sha256 of %s", ModelFile)
	}
	for name, want := range info.Files {
		b, err := os.ReadFile(filepath.Join(shippedModelDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s: sha256 %x, model_info.json records %s", name, sum, want)
		}
	}
	if info.Embedding.Output != DefaultEmbeddingOutput {
		t.Fatalf("model_info.json embedding output %q, want %q (run `make model-embedding`)", info.Embedding.Output, DefaultEmbeddingOutput)
	}
	requireRuntime(t)
	c, err := Load(context.Background(), Options{IntraOpThreads: 1}, os.DirFS(shippedModelDir))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if d := classifier.EmbeddingDimOf(c); d != info.Embedding.Dim {
		t.Errorf("embedding length %d, model_info.json records %d", d, info.Embedding.Dim)
	}
}

// readRows returns the "text" and "label" of the first limit lines (all when
// limit <= 0) of a JSONL file such as the shared dev set.
func readRows(t *testing.T, path string, limit int) (texts, labels []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (the shared data folder is expected at ../shared/data beside the repository)", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() && (limit <= 0 || len(texts) < limit) {
		var row struct {
			Text  string `json:"text"`
			Label string `json:"label"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		texts, labels = append(texts, row.Text), append(labels, row.Label)
	}
	if err := sc.Err(); err != nil || len(texts) == 0 {
		t.Fatalf("%s: %d rows, %v", path, len(texts), err)
	}
	return texts, labels
}
