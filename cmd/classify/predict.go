package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/loader"
)

// modelFlags are the flags every command that loads a classifier takes.
type modelFlags struct {
	model, backend, device, library string
	noEnsemble                      bool
}

func (m *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.model, "model", classifier.EmbeddedModel, "model directory, or \"embedded\" for the model built into the binary")
	fs.StringVar(&m.backend, "backend", "", "classifier backend: onnx or linear (default: onnx when available, else linear)")
	fs.StringVar(&m.device, "device", "", "ONNX execution provider: cpu or cuda (default cpu)")
	fs.StringVar(&m.library, "onnx-library", "", "path of libonnxruntime.so (default: $ONNXRUNTIME_LIB, then the make cache)")
	fs.BoolVar(&m.noEnsemble, "no-ensemble", false, "use the ONNX model alone, ignoring its directory's ensemble.json")
}

// load loads the classifier, logging the backend choice to stderr.
func (m *modelFlags) load(ctx context.Context, stderr io.Writer) (classifier.Classifier, error) {
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(stderr, "classify:", args) }, funcr.Options{})
	cfg, err := m.config()
	if err != nil {
		return nil, err
	}
	return loader.Load(logr.NewContext(ctx, log), cfg)
}

// config maps the flags onto the chosen backend's parameters: the linear
// backend takes modelDir (and refuses device cuda); onnx and auto take them all.
func (m *modelFlags) config() (classifier.Config, error) {
	params := map[string]any{"modelDir": m.model}
	if m.device != "" {
		params["device"] = m.device
	}
	if m.noEnsemble {
		params["ensemble"] = false
	}
	if m.library != "" && m.backend != classifier.BackendLinear {
		params["libraryPath"] = m.library
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return classifier.Config{}, err
	}
	return classifier.Config{Backend: m.backend, Parameters: raw}, nil
}

// predictBatch bounds how many buffered input lines are classified together.
const predictBatch = 64

type prediction struct {
	Label      string  `json:"label"`
	Confidence float32 `json:"confidence"`
}

func runPredict(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var mf modelFlags
	mf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := mf.load(ctx, stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()

	in := bufio.NewReaderSize(stdin, 1<<20)
	out := bufio.NewWriter(stdout)
	var texts []string
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		rs, err := c.ClassifyBatch(ctx, texts)
		if err != nil {
			return err
		}
		for _, r := range rs {
			b, _ := json.Marshal(prediction{r.Label, r.Confidence})
			if _, err := out.Write(append(b, '\n')); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
		texts = texts[:0]
		if err := out.Flush(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	for n := 1; ; n++ {
		line, rerr := in.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return errors.Join(flush(), fmt.Errorf("line %d: read: %w", n, rerr))
		}
		if len(line) == 0 && errors.Is(rerr, io.EOF) {
			return flush()
		}
		p, err := parseLine(bytes.TrimSuffix(line, []byte("\n")), false)
		if err != nil {
			return errors.Join(flush(), fmt.Errorf("line %d: %w", n, err))
		}
		texts = append(texts, *p.Text)
		// Answer as soon as no more input is waiting, so an interactive
		// user or a pipe fed line by line gets each answer at once.
		if len(texts) == predictBatch || in.Buffered() == 0 || rerr != nil {
			if err := flush(); err != nil {
				return err
			}
		}
		if rerr != nil {
			return nil
		}
	}
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "labelled JSONL with \"text\" and \"label\" (required)")
	var mf modelFlags
	mf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageError("eval: --data is required")
	}
	c, err := mf.load(ctx, stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	labels := c.Labels()
	known := map[string]bool{}
	for _, l := range labels {
		known[l] = true
	}
	d, err := readLabeled(*data, known)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	d.report(stdout, *data)
	if len(d.Invalid) > 0 {
		return fmt.Errorf("--data %s: %d invalid lines (first: %s)", *data, len(d.Invalid), d.Invalid[0])
	}
	if len(d.Texts) == 0 {
		return fmt.Errorf("--data %s: no rows to evaluate", *data)
	}
	conf := newConfusion(labels)
	lat := make([]time.Duration, len(d.Texts))
	truncated := 0
	for i, t := range d.Texts {
		start := time.Now()
		r, err := c.Classify(ctx, t)
		lat[i] = time.Since(start)
		if err != nil {
			return fmt.Errorf("row %d: %w", i+1, err)
		}
		if r.Truncated {
			truncated++
		}
		conf.add(d.Labels[i], r.Label)
	}
	conf.write(stdout)
	slices.Sort(lat)
	fmt.Fprintf(stdout, "\nlatency per text (sequential Classify): p50 %s, p99 %s, max %s\n",
		percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1])
	if truncated > 0 {
		fmt.Fprintf(stdout, "truncated inputs: %d\n", truncated)
	}
	return nil
}
