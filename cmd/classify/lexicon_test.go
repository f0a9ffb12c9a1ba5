package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

// TestLexiconCommand scores the embedded ONNX model's vocabulary and checks
// the teacher knows what the linear model's training data lacks.
func TestLexiconCommand(t *testing.T) {
	if err := onnx.Available("", ""); err != nil {
		t.Skipf("skipped: libonnxruntime is not available (run `make onnxruntime`): %v", err)
	}
	out := filepath.Join(t.TempDir(), "sub", "lexicon.bin")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"lexicon", "--out", out}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("lexicon: exit %d: %s", code, stderr.String())
	}
	fsys, err := models.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	labels, err := classifier.ReadCategoryMapping(fsys)
	if err != nil {
		t.Fatal(err)
	}
	lx, err := linear.LoadLexicon(os.DirFS(filepath.Dir(out)), filepath.Base(out), len(labels))
	if err != nil {
		t.Fatal(err)
	}
	if lx.Len() < 20000 {
		t.Errorf("%d words, want the ~23,000 whole words of the vocabulary", lx.Len())
	}
	for word, want := range map[string]string{"linux": "computer science", "integral": "math"} {
		s := lx.Score(word)
		if s == nil {
			t.Fatalf("%q missing", word)
		}
		if got := labels[slices.Index(s, slices.Max(s))]; got != want {
			t.Errorf("%q: top label %s (%v), want %s", word, got, s, want)
		}
	}
}

func TestTrainLexiconFlags(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "train.jsonl", smallTrain)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--head-cv", "8/1/1e-4"}, 2, "--head-cv needs --lexicon"},
		{[]string{"--lexicon", filepath.Join(dir, "none.bin"), "--out", dir}, 1, "--lexicon: read none.bin"},
		{[]string{"--lexicon", data, "--head-gate", "1", "--out", dir}, 2, "gate words 1"},
		{[]string{"--lexicon", data, "--head-cv", "8/1"}, 1, "lexicon"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"train", "--data", data}, tt.args...)
		code := run(context.Background(), args, nil, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}
