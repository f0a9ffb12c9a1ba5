package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
)

// runLexicon writes the linear model's lexicon: the ONNX model alone run on
// each whole word of its WordPiece vocabulary (docs/classifier.md, "Lexicon").
func runLexicon(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("lexicon", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var mf modelFlags
	mf.register(fs)
	out := fs.String("out", "", "lexicon file to write (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("lexicon: --out is required")
	}
	mf.backend, mf.noEnsemble = classifier.BackendONNX, true
	vocab, err := readVocab(mf.model)
	if err != nil {
		return err
	}
	c, err := mf.load(ctx, stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	labels := c.Labels()
	if !slices.IsSorted(labels) {
		// The linear model's labels are sorted (classify train); the
		// lexicon's columns must be in the same order.
		return fmt.Errorf("the teacher's labels %v are not in sorted order", labels)
	}
	words := linear.LexiconWords(vocab)
	start := time.Now()
	scores, err := linear.TeacherScores(ctx, words, len(labels), func(ctx context.Context, ws []string) ([][]float32, error) {
		rs, err := c.ClassifyBatch(ctx, ws)
		if err != nil {
			return nil, err
		}
		ps := make([][]float32, len(rs))
		for i, r := range rs {
			ps[i] = r.Scores
		}
		return ps, nil
	})
	if err != nil {
		return err
	}
	lx, err := linear.NewLexicon(words, scores, len(labels))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := lx.WriteFile(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scored %d words of %d vocabulary entries in %s; wrote %s\n", len(words), len(vocab), time.Since(start).Round(time.Millisecond), *out)
	return nil
}

// readVocab returns the WordPiece vocabulary of the ONNX model directory's
// tokenizer.json ("embedded": the shipped model's).
func readVocab(modelDir string) ([]string, error) {
	var fsys fs.FS
	if modelDir == classifier.EmbeddedModel || modelDir == "" {
		var err error
		if fsys, err = models.ONNX(); err != nil {
			return nil, err
		}
	} else {
		fsys = os.DirFS(modelDir)
	}
	b, err := fs.ReadFile(fsys, "tokenizer.json")
	if err != nil {
		return nil, fmt.Errorf("read the teacher's vocabulary: %w", err)
	}
	var tj struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if len(tj.Model.Vocab) == 0 {
		return nil, errors.New("tokenizer.json: model.vocab is empty")
	}
	vocab := make([]string, 0, len(tj.Model.Vocab))
	for w := range tj.Model.Vocab {
		vocab = append(vocab, w)
	}
	slices.Sort(vocab)
	return vocab, nil
}
