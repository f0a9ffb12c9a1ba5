//go:build cgo

// Package onnx is the classifier backend that runs a transformer sequence
// classification model (model.onnx, tokenizer.json, category_mapping.json)
// with ONNX Runtime through github.com/yalue/onnxruntime_go.
//
// The model must take int64 input_ids and attention_mask, optionally
// token_type_ids, with dynamic batch and sequence axes, and return float
// logits [batch, labels], and optionally a sentence embedding [batch, dim]
// (Options.EmbeddingOutput), which results then carry L2-normalised. Texts longer than the sequence limit are classified
// on a head+tail window of their tokens (Result.Truncated). Batches are padded
// to their longest sequence. The ONNX Runtime library is found as described
// in ResolveLibrary.
package onnx

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx/cudagraph"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/onnx/lockedthread"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// Files read from the model directory.
const (
	ModelFile     = "model.onnx"
	TokenizerFile = "tokenizer.json"
)

// Model input and output names.
const (
	InputIDs      = "input_ids"
	AttentionMask = "attention_mask"
	TokenTypeIDs  = "token_type_ids"
	Logits        = "logits"
)

// defaultMaxSeqLen is the sequence limit used when neither tokenizer.json's
// truncation nor the model's position table gives one.
const defaultMaxSeqLen = 512

// Classifier runs the ONNX Runtime sessions of one model. It is safe for
// concurrent use.
type Classifier struct {
	mu     sync.RWMutex // Close holds it exclusively; runs share it
	closed bool
	// sessions are the Options.Sessions sessions of the model. Runs take
	// them in turn (next); a session runs concurrent batches itself, so
	// one session never makes a run wait for another.
	sessions []*ort.DynamicAdvancedSession
	next     atomic.Uint64
	graphs   *cudagraph.Session // small batches on CUDA; nil without CUDA graphs
	// runners make the session runs on CUDA (nil on the CPU, where runs are
	// made on the caller's goroutine); see startRunners.
	runners *lockedthread.Pool
	// buckets pads session runs to the shape buckets (shapeBuckets).
	buckets bool
	// graphsErr says why a CUDA classifier with cudaGraphs on runs without
	// them (also logged at load).
	graphsErr error

	inputs     []string // model inputs in the order given to the session
	embedding  string   // embedding output name; "" when the model has none
	embDim     int      // embedding length, set by the probe
	tok        *tokenizer.Tokenizer
	labels     []string
	maxSeqLen  int
	head, tail int // content tokens kept from each end
	device     string
}

var _ classifier.Classifier = (*Classifier)(nil)

// Load reads the model directory fsys and starts an ONNX Runtime session
// with the settings o (zero values are defaults).
func Load(ctx context.Context, o Options, fsys fs.FS) (*Classifier, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.applyDefaults()
	if err := Available(o.LibraryPath, o.Device); err != nil {
		return nil, err
	}
	model, err := fs.ReadFile(fsys, ModelFile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ModelFile, err)
	}
	tok, err := tokenizer.LoadFS(fsys, TokenizerFile)
	if err != nil {
		return nil, err
	}
	labels, err := classifier.ReadCategoryMapping(fsys)
	if err != nil {
		return nil, err
	}
	facts, err := readGraphFacts(model, InputIDs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ModelFile, err)
	}
	if facts.wordRows > 0 && int64(tok.VocabSize()) > facts.wordRows {
		return nil, fmt.Errorf("%s can produce ids up to %d but %s's word embedding table has %d rows: tokenizer and model do not match",
			TokenizerFile, tok.VocabSize()-1, ModelFile, facts.wordRows)
	}
	inputs, embedding, err := checkIO(model, o.EmbeddingOutput)
	if err != nil {
		return nil, err
	}
	c := &Classifier{inputs: inputs, embedding: embedding, tok: tok, labels: labels}
	c.maxSeqLen = seqLimit(o.MaxSeqLen, tok.TruncationMaxLength(), facts.positionRows)
	content := c.maxSeqLen - tok.SpecialTokens()
	if content < 2 {
		return nil, fmt.Errorf("sequence limit %d leaves no room for text after %d special tokens", c.maxSeqLen, tok.SpecialTokens())
	}
	c.head, c.tail = content/2, content-content/2
	first, device, err := newSession(ctx, o, model, inputs, c.outputs(), facts.quantized)
	if err != nil {
		return nil, err
	}
	c.device = device
	if err := c.openSessions(o, model, first); err != nil {
		return nil, err
	}
	if err := c.probe(ctx, facts.wordRows > 0); err != nil {
		_ = c.destroySessions()
		return nil, err
	}
	if c.device == DeviceCUDA && o.CUDAGraphs == CUDAGraphsOn {
		widths := []int{len(labels)}
		if c.embedding != "" {
			widths = append(widths, c.embDim)
		}
		c.startGraphs(ctx, o, model, widths)
	}
	if c.device == DeviceCUDA {
		c.buckets = shapeBuckets(o, c.device)
		if err := c.startRunners(ctx, BatchWorkers(c.device, o.IntraOpThreads, runtime.NumCPU()), o.ThreadSpin.Duration); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	log.FromContext(ctx).Info("ONNX classifier loaded", "device", c.device, "sessions", o.Sessions, "cudaGraphs", c.graphs != nil,
		"shapeBuckets", c.buckets, "labels", len(labels),
		"maxSeqLen", c.maxSeqLen, "vocab", tok.VocabSize(), "embedding", c.embedding, "embeddingDim", c.embDim,
		"onnxruntime", Version())
	return c, nil
}

// seqLimit picks the sequence limit; see Options.MaxSeqLen.
func seqLimit(opt, tokenizerMax int, positions int64) int {
	n := defaultMaxSeqLen
	switch {
	case opt > 0:
		n = opt
	case tokenizerMax > 0:
		n = tokenizerMax
	case positions > 0:
		n = int(positions)
	}
	if positions > 0 && int64(n) > positions {
		n = int(positions)
	}
	return n
}

// checkIO checks the model's inputs and outputs and returns the input names
// in the model's order and the embedding output to read ("" for none; see
// Options.EmbeddingOutput).
func checkIO(model []byte, embeddingOutput string) ([]string, string, error) {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a model ONNX Runtime can load: %w", ModelFile, err)
	}
	names, err := checkInputs(ins)
	if err != nil {
		return nil, "", err
	}
	emb, err := checkOutputs(outs, embeddingOutput)
	return names, emb, err
}

func checkInputs(ins []ort.InputOutputInfo) ([]string, error) {
	var names []string
	found := map[string]bool{}
	for _, in := range ins {
		switch in.Name {
		case InputIDs, AttentionMask, TokenTypeIDs:
			if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeInt64 {
				return nil, fmt.Errorf("%s: input %q is %s, want an int64 tensor", ModelFile, in.Name, in.String())
			}
			if len(in.Dimensions) != 2 {
				return nil, fmt.Errorf("%s: input %q has shape %v, want [batch, sequence]", ModelFile, in.Name, in.Dimensions)
			}
			names, found[in.Name] = append(names, in.Name), true
		default:
			return nil, fmt.Errorf("%s: unexpected input %q (want %s, %s and optionally %s)", ModelFile, in.Name, InputIDs, AttentionMask, TokenTypeIDs)
		}
	}
	for _, want := range []string{InputIDs, AttentionMask} {
		if !found[want] {
			return nil, fmt.Errorf("%s has no input %q (inputs: %v)", ModelFile, want, names)
		}
	}
	return names, nil
}

// probe runs the largest token id through the model: it checks the logits
// width against the label count and, when the graph did not show the
// embedding table's size, that the id is in range (ONNX Runtime's CPU Gather
// rejects out-of-range indices). It also warms the session up.
func (c *Classifier) probe(ctx context.Context, vocabChecked bool) error {
	enc := c.tok.Wrap([]int32{int32(c.tok.VocabSize() - 1)})
	logits, embs, err := c.runAll(ctx, []tokenizer.Encoding{enc})
	if err != nil {
		if !vocabChecked {
			return fmt.Errorf("probe run with the tokenizer's largest id %d failed (is the vocabulary larger than the model's embedding table?): %w", c.tok.VocabSize()-1, err)
		}
		return fmt.Errorf("probe run failed: %w", err)
	}
	if w := len(logits[0]); w != len(c.labels) {
		return fmt.Errorf("%s returns %d logits but the label file has %d labels", ModelFile, w, len(c.labels))
	}
	if c.embedding != "" {
		if c.embDim = len(embs[0]); c.embDim == 0 {
			return fmt.Errorf("%s: output %q is empty", ModelFile, c.embedding)
		}
	}
	return nil
}

// Labels returns a copy of the label set, in logit order.
func (c *Classifier) Labels() []string { return append([]string(nil), c.labels...) }

// Device is the execution provider the session runs on: "cpu" or "cuda".
func (c *Classifier) Device() string { return c.device }

// MaxSeqLen is the sequence limit, special tokens included.
func (c *Classifier) MaxSeqLen() int { return c.maxSeqLen }

// Encode tokenizes text as the model will see it, windowed to the limit,
// and reports whether the window dropped tokens.
func (c *Classifier) Encode(text string) (tokenizer.Encoding, bool) {
	ids, truncated := c.tok.HeadTail(text, c.head, c.tail)
	return c.tok.Wrap(ids), truncated
}

// Classify classifies one text.
func (c *Classifier) Classify(ctx context.Context, text string) (classifier.Result, error) {
	res, err := c.ClassifyBatch(ctx, []string{text})
	if err != nil {
		return classifier.Result{}, err
	}
	return res[0], nil
}

// ClassifyBatch classifies texts in one ONNX Runtime run, padded to the
// longest.
func (c *Classifier) ClassifyBatch(ctx context.Context, texts []string) ([]classifier.Result, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("onnx classify: %w", err)
	}
	encs, truncated := c.encodeAll(texts)
	return c.classifyEncoded(ctx, encs, truncated)
}

// classifyEncoded runs encs and turns their logits into results.
func (c *Classifier) classifyEncoded(ctx context.Context, encs []tokenizer.Encoding, truncated []bool) ([]classifier.Result, error) {
	logits, embs, err := c.runAll(ctx, encs)
	if err != nil {
		return nil, err
	}
	out := make([]classifier.Result, len(encs))
	for i, l := range logits {
		out[i] = result(c.labels, l, truncated[i])
		if embs != nil {
			out[i].Embedding = normalize(embs[i])
		}
	}
	return out, nil
}

// result turns logits into a Result with softmax probabilities.
func result(labels []string, logits []float32, truncated bool) classifier.Result {
	top := 0
	maxLogit := math.Inf(-1)
	for i, v := range logits {
		if float64(v) > maxLogit {
			top, maxLogit = i, float64(v)
		}
	}
	scores := make([]float32, len(logits))
	var sum float64
	for i, v := range logits {
		e := math.Exp(float64(v) - maxLogit)
		scores[i] = float32(e)
		sum += e
	}
	for i := range scores {
		scores[i] = float32(float64(scores[i]) / sum)
	}
	return classifier.Result{Label: labels[top], Confidence: scores[top], Scores: scores, Truncated: truncated}
}

// runAll feeds encodings, padded to the longest, through the session and
// returns one logits row per encoding, and one embedding row per encoding
// when the model has an embedding output (nil otherwise).
func (c *Classifier) runAll(ctx context.Context, encs []tokenizer.Encoding) ([][]float32, [][]float32, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, nil, classifier.ErrClosed
	}
	seq := 0
	for _, e := range encs {
		seq = max(seq, len(e.IDs))
	}
	if c.graphs != nil {
		if b, s, ok := graphShape(len(encs), seq, c.maxSeqLen); ok {
			start := time.Now()
			logits, embs, err := runGraph(c.graphs, c.inputs, encs, b, s)
			inferenceDuration.WithLabelValues(c.device).Observe(time.Since(start).Seconds())
			return logits, embs, err
		}
	}
	return c.runSession(ctx, encs, seq)
}

// padInputs lays encs out as one (b, s) array per model input, in the order
// of inputs. Zero is the [PAD] id, mask 0 and type 0. Rows past len(encs)
// (a captured graph's fixed batch) repeat the first text, so that every row
// is a real one.
func padInputs(inputs []string, encs []tokenizer.Encoding, b, s int) [][]int64 {
	data := make([][]int64, len(inputs))
	for k, name := range inputs {
		d := make([]int64, b*s)
		for i := range b {
			e := encs[0]
			if i < len(encs) {
				e = encs[i]
			}
			switch name {
			case InputIDs:
				copy(d[i*s:], e.IDs)
			case AttentionMask:
				copy(d[i*s:], e.AttentionMask)
			case TokenTypeIDs:
				copy(d[i*s:], e.TypeIDs)
			}
		}
		data[k] = d
	}
	return data
}

// runSession runs encs, padded to seq (the longest) or to the shape bucket,
// through the plain session; on CUDA on a runner. The caller holds c.mu.
func (c *Classifier) runSession(ctx context.Context, encs []tokenizer.Encoding, seq int) ([][]float32, [][]float32, error) {
	b, s := len(encs), seq
	if c.buckets {
		b, s = bucketBatch(b), bucketSeq(s, c.maxSeqLen)
	}
	if c.runners == nil {
		return c.runPadded(ctx, encs, b, s)
	}
	var logits, embs [][]float32
	var err error
	if werr := c.runners.Do(ctx, func() { logits, embs, err = c.runPadded(ctx, encs, b, s) }); werr != nil {
		return nil, nil, fmt.Errorf("onnx run cancelled waiting for a runner: %w", werr)
	}
	return logits, embs, err
}

// runPadded runs encs as a (b, s) batch (b >= len(encs), s at least the
// longest) and returns the rows of encs.
func (c *Classifier) runPadded(ctx context.Context, encs []tokenizer.Encoding, b, s int) ([][]float32, [][]float32, error) {
	data := padInputs(c.inputs, encs, b, s)
	shape := ort.NewShape(int64(b), int64(s))
	values := make([]ort.Value, len(c.inputs))
	for i, name := range c.inputs {
		t, err := ort.NewTensor(shape, data[i])
		if err != nil {
			for _, v := range values[:i] {
				_ = v.Destroy()
			}
			return nil, nil, fmt.Errorf("creating %s tensor: %w", name, err)
		}
		values[i] = t
	}
	defer func() {
		for _, v := range values {
			_ = v.Destroy()
		}
	}()
	opts, err := ort.NewRunOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("creating run options: %w", err)
	}
	defer func() { _ = opts.Destroy() }()
	stop := context.AfterFunc(ctx, func() { _ = opts.Terminate() })
	defer stop()
	outputs := make([]ort.Value, len(c.outputs()))
	start := time.Now()
	session := c.sessions[(c.next.Add(1)-1)%uint64(len(c.sessions))]
	err = session.RunWithOptions(values, outputs, opts)
	inferenceDuration.WithLabelValues(c.device).Observe(time.Since(start).Seconds())
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("onnx run cancelled: %w", ctx.Err())
		}
		return nil, nil, fmt.Errorf("onnx run (batch %d, sequence %d): %w", b, s, err)
	}
	defer func() {
		for _, o := range outputs {
			_ = o.Destroy()
		}
	}()
	n := len(encs)
	logits, err := rows(outputs[0], Logits, b, n)
	if err != nil || c.embedding == "" {
		return logits, nil, err
	}
	embs, err := rows(outputs[1], c.embedding, b, n)
	if err != nil {
		return nil, nil, err
	}
	return logits, embs, nil
}

// Close destroys the session; it waits for runs in progress.
func (c *Classifier) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.runners != nil {
		c.runners.Stop()
	}
	if c.graphs != nil {
		_ = c.graphs.Close()
	}
	if err := c.destroySessions(); err != nil {
		return err
	}
	return nil
}
