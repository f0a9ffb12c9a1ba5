package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/semantic-epp/semantic-epp/models"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/linear"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx"
)

// writeFile writes content into a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const smallTrain = `{"text": "the lion roars at the zebra", "label": "animals"}
{"text": "solve the equation for x", "label": "math"}

{"text": "a tiger hunts a deer", "label": "animals"}
{"text": "prove the theorem about primes", "label": "math"}
{"text": "the lion roars at the zebra", "label": "animals"}
{"text": "the lion roars at the zebra", "label": "math"}
{"text": "play the violin", "label": "music", "source": "x"}
{"text": "an eagle flies over the hill", "label": "animals"}
{"text": "compute the integral of x", "label": "math"}
`

const smallDev = `{"text": "where does the tiger live", "label": "animals"}
{"text": "what is the integral of a prime", "label": "math"}
`

func TestRun(t *testing.T) {
	dir := t.TempDir()
	train := writeFile(t, dir, "train.jsonl", smallTrain)
	dev := writeFile(t, dir, "dev.jsonl", smallDev)
	badTrain := writeFile(t, dir, "bad.jsonl", smallTrain+"not json\n")
	out := filepath.Join(dir, "model")

	tests := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    []string // regexps the output must match
		stderr    []string
		stdoutNot []string
		lines     int // expected stdout lines, -1 = any
	}{
		{name: "no command", code: 2, stderr: []string{"usage:"}, lines: 0},
		{name: "unknown command", args: []string{"fit"}, code: 2, stderr: []string{`unknown command "fit"`}, lines: 0},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"classify predict"}, lines: -1},
		{name: "predict", args: []string{"predict", "--backend", "linear"},
			stdin: "{\"text\": \"What is the derivative of x^2?\"}\n{\"text\": \"\"}\n{\"text\": \"Who wrote the Critique of Pure Reason?\", \"label\": \"ignored\"}\n",
			code:  0, lines: 3, stdout: []string{`(?m)^\{"label":"math","confidence":0\.\d+\}$`}},
		{name: "predict without trailing newline", args: []string{"predict", "--backend", "linear", "--model", "embedded"},
			stdin: `{"text": "Which enzyme copies DNA?"}`, code: 0, lines: 1, stdout: []string{`"label":`}},
		{name: "predict no input", args: []string{"predict", "--backend", "linear"}, code: 0, lines: 0},
		{name: "predict with the auto backend", args: []string{"predict"}, stdin: "{\"text\": \"What is 2+2?\"}\n", code: 0, lines: 1,
			stdout: []string{`^\{"label":"[a-z ]+","confidence":[0-9.e-]+\}\n$`}},
		{name: "predict bad JSON stops at that line", args: []string{"predict", "--backend", "linear"},
			stdin: "{\"text\": \"a\"}\nnot json\n{\"text\": \"b\"}\n", code: 1, lines: 1,
			stderr: []string{`line 2: invalid JSON`}},
		{name: "predict blank line", args: []string{"predict", "--backend", "linear"}, stdin: "{\"text\": \"a\"}\n\n", code: 1, lines: 1,
			stderr: []string{`line 2: empty line`}},
		{name: "predict missing text", args: []string{"predict", "--backend", "linear"}, stdin: "{\"prompt\": \"a\"}\n", code: 1, lines: 0,
			stderr: []string{`line 1: no "text" field`}},
		{name: "predict text not a string", args: []string{"predict", "--backend", "linear"}, stdin: "{\"text\": 3}\n", code: 1, lines: 0,
			stderr: []string{`line 1: invalid JSON`}},
		{name: "predict bad backend", args: []string{"predict", "--backend", "svm"}, code: 1, lines: 0,
			stderr: []string{`backend "svm"`}},
		{name: "predict onnx unavailable", args: []string{"predict", "--backend", "onnx", "--model", dir}, code: 1, lines: 0,
			stderr: []string{`onnx`}},
		{name: "predict unknown flag", args: []string{"predict", "--gpu"}, code: 2, lines: 0,
			stderr: []string{`flag provided but not defined: -gpu`}},
		{name: "predict extra argument", args: []string{"predict", "file.jsonl"}, code: 2, lines: 0,
			stderr: []string{`unexpected argument "file.jsonl"`}},
		{name: "train", args: []string{"train", "--data", train, "--dev", dev, "--out", out, "--labels", "animals,math", "--buckets-log2", "10", "--epochs", "5"},
			code: 0, lines: -1, stdout: []string{
				`10 lines, 6 rows used; left out: 1 empty lines, 1 duplicate rows, 1 rows repeating a text with another label \(first kept\), 1 rows with unknown labels \("music": 1\)`,
				`dev accuracy 1\.0000`, `wrote `}},
		{name: "eval the trained model", args: []string{"eval", "--data", dev, "--model", out}, code: 0, lines: -1,
			stdout: []string{`accuracy: 1\.0000`, `macro-F1: 1\.0000`, `animals\s+1\.0000`, `latency per text .*p50 .*p99`}},
		{name: "eval with a label the model lacks", args: []string{"eval", "--data", train, "--model", out}, code: 0, lines: -1,
			stdout: []string{`1 rows with unknown labels \("music": 1\)`, `top confusions|accuracy: 1`}},
		{name: "train invalid line", args: []string{"train", "--data", badTrain, "--out", filepath.Join(dir, "m2")}, code: 1, lines: -1,
			stderr: []string{`line 11: invalid JSON`}},
		{name: "train without --out", args: []string{"train", "--data", train}, code: 2, lines: 0,
			stderr: []string{`--data and --out are required`}},
		{name: "train bad char n-grams", args: []string{"train", "--data", train, "--out", out, "--char-ngrams", "5"}, code: 2, lines: 0,
			stderr: []string{`--char-ngrams "5"`}},
		{name: "train missing file", args: []string{"train", "--data", filepath.Join(dir, "nope.jsonl"), "--out", out}, code: 1, lines: 0,
			stderr: []string{`no such file`}},
		{name: "eval without --data", args: []string{"eval"}, code: 2, lines: 0, stderr: []string{`--data is required`}},
		{name: "train -h", args: []string{"train", "-h"}, code: 0, lines: 0, stderr: []string{`-char-ngrams`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, re := range tt.stdout {
				if !regexp.MustCompile(re).MatchString(stdout.String()) {
					t.Errorf("stdout does not match %q:\n%s", re, stdout.String())
				}
			}
			for _, re := range tt.stderr {
				if !regexp.MustCompile(re).MatchString(stderr.String()) {
					t.Errorf("stderr does not match %q:\n%s", re, stderr.String())
				}
			}
			if tt.lines >= 0 {
				if n := strings.Count(stdout.String(), "\n"); n != tt.lines {
					t.Errorf("%d stdout lines, want %d:\n%s", n, tt.lines, stdout.String())
				}
			}
		})
	}
}

// TestPredictOutput checks each output line is exactly {"label","confidence"}.
func TestPredictOutput(t *testing.T) {
	var stdout, stderr bytes.Buffer
	in := strings.Repeat("{\"text\": \"What is the capital of France?\"}\n", 150) // more than one batch
	if code := run(context.Background(), []string{"predict"}, strings.NewReader(in), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 150 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		c, ok := m["confidence"].(float64)
		if len(m) != 2 || m["label"] == "" || !ok || c <= 0 || c > 1 {
			t.Fatalf("bad line %s", l)
		}
	}
}

// dataDir finds ../shared/data beside the repository root.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if dir == filepath.Dir(dir) {
			t.Fatal("repository root (go.mod) not found")
		}
	}
	d := filepath.Join(filepath.Dir(dir), "shared", "data", "domain")
	if _, err := os.Stat(filepath.Join(d, "train.jsonl")); err != nil {
		t.Fatalf("training data missing: %v (the tests read ../shared/data/domain beside the repository)", err)
	}
	return d
}

// lexiconTeacher is LINEAR_LEXICON_TEACHER of mk/linear.mk.
const lexiconTeacher = "models/domain-minilm alone (classify lexicon)"

// TestShippedModelIsReproducible rebuilds the shipped model the way `make
// linear-model` does (the teacher lexicon from the embedded ONNX model, then
// training) and checks every file is bit-identical and the dev accuracy is
// the recorded one. Without ONNX Runtime it checks what needs none: the
// n-gram weights (the head leaves them alone) and the labels.
func TestShippedModelIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the full data set (about a minute)")
	}
	d := dataDir(t)
	out := t.TempDir()
	args := []string{"train", "--data", filepath.Join(d, "train.jsonl"), "--dev", filepath.Join(d, "dev.jsonl"), "--out", out}
	files := []string{linear.WeightsFile, "category_mapping.json"}
	ortErr := onnx.Available("", "")
	if ortErr == nil {
		lex := filepath.Join(t.TempDir(), "lexicon.bin")
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"lexicon", "--out", lex}, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("lexicon: exit %d: %s", code, stderr.String())
		}
		args = append(args, "--lexicon", lex, "--lexicon-teacher", lexiconTeacher)
		files = append(files, linear.MetadataFile, linear.LexiconFile)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr.String())
	}
	t.Log(stdout.String())
	fsys, err := models.Linear()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want, err := fs.ReadFile(fsys, f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from models/domain-linear/%s: run `make linear-model` and commit the result", f, f)
		}
	}
	if ortErr != nil {
		t.Skipf("the weights and labels match; linear.json and lexicon.bin need the teacher lexicon, and libonnxruntime is not available (run `make onnxruntime`): %v", ortErr)
	}
}

// TestNoEnsembleFlag checks --no-ensemble loads the embedded ONNX model
// without its ensemble.json and leaves predict's output format alone.
func TestNoEnsembleFlag(t *testing.T) {
	if err := onnx.Available("", ""); err != nil {
		t.Skipf("skipped: libonnxruntime is not available, the embedded default is the linear model alone: %v", err)
	}
	line := regexp.MustCompile(`^\{"label":"[a-z ]+","confidence":[0-9.e-]+\}\n$`)
	for _, tt := range []struct {
		args         []string
		wantEnsemble bool
	}{
		{[]string{"predict", "--backend", "onnx"}, true},
		{[]string{"predict", "--backend", "onnx", "--no-ensemble"}, false},
		{[]string{"predict", "--no-ensemble"}, false},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, strings.NewReader("{\"text\": \"What is 2+2?\"}\n"), &stdout, &stderr)
		if code != 0 || !line.MatchString(stdout.String()) {
			t.Fatalf("%v: exit %d, stdout %q, stderr %s", tt.args, code, stdout.String(), stderr.String())
		}
		if got := strings.Contains(stderr.String(), "using an ensemble"); got != tt.wantEnsemble {
			t.Errorf("%v: ensemble logged %v, want %v:\n%s", tt.args, got, tt.wantEnsemble, stderr.String())
		}
	}
}
