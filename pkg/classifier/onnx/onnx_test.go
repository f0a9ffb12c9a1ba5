//go:build cgo

package onnx

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
	"github.com/semantic-epp/semantic-epp/pkg/classifier/tokenizer"
)

// requireRuntime fails (never skips) when the ONNX Runtime library is
// missing: `make test` fetches it first.
func requireRuntime(t testing.TB) {
	t.Helper()
	if err := Available("", "cpu"); err != nil {
		t.Fatalf("ONNX Runtime is needed by these tests: run `make onnxruntime` (or set %s): %v", LibraryEnv, err)
	}
}

func loadTiny(t testing.TB) *Classifier {
	t.Helper()
	requireRuntime(t)
	c, err := Load(context.Background(), Options{IntraOpThreads: 1}, os.DirFS("testdata/tiny"))
	if err != nil {
		t.Fatalf("load tiny model: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

type reference struct {
	Labels []string `json:"labels"`
	MaxLen int      `json:"max_len"`
	Rows   []struct {
		Text      string    `json:"text"`
		IDs       []int64   `json:"ids"`
		Truncated bool      `json:"truncated"`
		Logits    []float32 `json:"logits"`
	} `json:"rows"`
}

func readReference(t *testing.T) reference {
	data, err := os.ReadFile("testdata/tiny/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

func softmax(l []float32) []float32 {
	m := slices.Max(l)
	out := make([]float32, len(l))
	var sum float64
	for i, v := range l {
		out[i] = float32(math.Exp(float64(v - m)))
		sum += float64(out[i])
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}

func closeTo(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

// TestMatchesPythonReference checks ids, windowing and logits against
// Python ONNX Runtime (testdata/gen_model.py), one text at a time and as
// one padded batch.
func TestMatchesPythonReference(t *testing.T) {
	c := loadTiny(t)
	ref := readReference(t)
	if !slices.Equal(c.Labels(), ref.Labels) || c.MaxSeqLen() != ref.MaxLen {
		t.Fatalf("labels %v max %d, want %v %d", c.Labels(), c.MaxSeqLen(), ref.Labels, ref.MaxLen)
	}
	texts := make([]string, len(ref.Rows))
	for i, row := range ref.Rows {
		texts[i] = row.Text
		enc, truncated := c.Encode(row.Text)
		if !slices.Equal(enc.IDs, row.IDs) || truncated != row.Truncated {
			t.Errorf("row %d: ids/truncated differ: got %d ids %v, want %d ids %v", i, len(enc.IDs), truncated, len(row.IDs), row.Truncated)
		}
		logits, err := c.run(context.Background(), []tokenizer.Encoding{enc})
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(logits[0], row.Logits, 1e-4) {
			t.Errorf("row %d: logits %v, want %v", i, logits[0], row.Logits)
		}
	}
	got, err := c.ClassifyBatch(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		want := softmax(ref.Rows[i].Logits)
		if !closeTo(r.Scores, want, 1e-4) || r.Truncated != ref.Rows[i].Truncated {
			t.Errorf("batch row %d: scores %v truncated %v, want %v %v", i, r.Scores, r.Truncated, want, ref.Rows[i].Truncated)
		}
		if r.Label != c.Labels()[slices.Index(want, slices.Max(want))] || r.Confidence != slices.Max(r.Scores) {
			t.Errorf("batch row %d: label %q confidence %v inconsistent with scores %v", i, r.Label, r.Confidence, r.Scores)
		}
	}
}

// TestOddInputs pins the defined results for inputs at the edges.
func TestOddInputs(t *testing.T) {
	c := loadTiny(t)
	huge := strings.Repeat("the court held that the contract was void. ", 1<<20/43)
	tests := []struct {
		name      string
		text      string
		truncated bool
		sameAs    string // when set, the result must equal this text's
	}{
		{name: "empty", text: ""},
		{name: "only whitespace", text: " \t\n ", sameAs: ""},
		{name: "control chars", text: "\x00\x01\x1b\x7f", sameAs: ""},
		{name: "invalid utf-8", text: "law\xff\xfe", sameAs: "law"},
		{name: "1 MB", text: huge, truncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Classify(context.Background(), tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if r.Truncated != tt.truncated || !slices.Contains(c.Labels(), r.Label) || len(r.Scores) != len(c.Labels()) {
				t.Fatalf("result %+v", r)
			}
			var sum float32
			for _, s := range r.Scores {
				sum += s
			}
			if math.Abs(float64(sum-1)) > 1e-5 {
				t.Fatalf("scores sum to %v", sum)
			}
			if tt.sameAs != "" || tt.name == "only whitespace" || tt.name == "control chars" {
				want, err := c.Classify(context.Background(), tt.sameAs)
				if err != nil {
					t.Fatal(err)
				}
				if !closeTo(r.Scores, want.Scores, 1e-6) {
					t.Fatalf("scores %v, want those of %q: %v", r.Scores, tt.sameAs, want.Scores)
				}
			}
		})
	}
}

func TestConcurrentUseAndClose(t *testing.T) {
	c := loadTiny(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			texts := []string{"a", strings.Repeat("b ", i*10)}
			if _, err := c.ClassifyBatch(context.Background(), texts); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Classify(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Classify(context.Background(), "x"); !errors.Is(err, classifier.ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
	if got, err := c.ClassifyBatch(context.Background(), nil); err != nil || len(got) != 0 {
		t.Errorf("empty batch = %v, %v", got, err)
	}
}

// dirWith is testdata/tiny with some files replaced or removed (nil data).
func dirWith(t *testing.T, changes map[string][]byte) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	for _, name := range []string{ModelFile, TokenizerFile, classifier.CategoryMappingFile} {
		data, err := os.ReadFile("testdata/tiny/" + name)
		if err != nil {
			t.Fatal(err)
		}
		m[name] = &fstest.MapFile{Data: data}
	}
	for name, data := range changes {
		if data == nil {
			delete(m, name)
		} else {
			m[name] = &fstest.MapFile{Data: data}
		}
	}
	return m
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadErrors(t *testing.T) {
	requireRuntime(t)
	tests := []struct {
		name    string
		changes map[string][]byte
		want    string
	}{
		{name: "no model", changes: map[string][]byte{ModelFile: nil}, want: "reading model.onnx"},
		{name: "not onnx", changes: map[string][]byte{ModelFile: []byte("this is not a model\n")}, want: "not an ONNX model"},
		{name: "truncated onnx", changes: map[string][]byte{ModelFile: readFile(t, "testdata/tiny/model.onnx")[:5000]}, want: "model.onnx"},
		{name: "vocab larger than embeddings", changes: map[string][]byte{ModelFile: readFile(t, "testdata/small-vocab/model.onnx")}, want: "word embedding table has 1000 rows"},
		{name: "no logits output", changes: map[string][]byte{ModelFile: readFile(t, "testdata/no-logits/model.onnx")}, want: `no output "logits"`},
		{name: "no tokenizer", changes: map[string][]byte{TokenizerFile: nil}, want: "reading tokenizer"},
		{name: "bad tokenizer", changes: map[string][]byte{TokenizerFile: []byte("{}")}, want: "no model"},
		{name: "no labels", changes: map[string][]byte{classifier.CategoryMappingFile: nil}, want: "read category_mapping.json"},
		{name: "label count differs", changes: map[string][]byte{classifier.CategoryMappingFile: []byte(`{"category_to_idx":{"a":0,"b":1,"c":2},"idx_to_category":{"0":"a","1":"b","2":"c"}}`)}, want: "returns 4 logits but the label file has 3 labels"},
		{name: "inconsistent mapping", changes: map[string][]byte{classifier.CategoryMappingFile: []byte(`{"category_to_idx":{"a":1,"b":0},"idx_to_category":{"0":"a","1":"b"}}`)}, want: "category_to_idx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(context.Background(), Options{}, dirWith(t, tt.changes))
			if err == nil {
				_ = c.Close()
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestCUDAFallback runs on a machine without CUDA (the CPU library has no
// CUDA provider): "cpu" fallback loads on the CPU and counts it, "fail" fails.
func TestCUDAFallback(t *testing.T) {
	if cudaRequested() {
		t.Skip("CUDA works here; TestCUDAParity covers it")
	}
	requireRuntime(t)
	before := testutil.ToFloat64(CUDAFallbacks)
	c, err := Load(context.Background(), Options{Device: "cuda"}, os.DirFS("testdata/tiny"))
	if err != nil {
		t.Fatalf("cuda with cpu fallback: %v", err)
	}
	defer func() { _ = c.Close() }()
	if c.Device() != "cpu" || testutil.ToFloat64(CUDAFallbacks) != before+1 {
		t.Fatalf("device %q, fallbacks %v (was %v)", c.Device(), testutil.ToFloat64(CUDAFallbacks), before)
	}
	_, err = Load(context.Background(), Options{Device: "cuda", CUDAFallback: "fail"}, os.DirFS("testdata/tiny"))
	if err == nil || !strings.Contains(err.Error(), "CUDA") {
		t.Fatalf("cudaFallback fail: err = %v", err)
	}
}

func TestResolveLibrary(t *testing.T) {
	tests := []struct {
		name, configured, env, want string
	}{
		{name: "configured missing", configured: "/nonexistent/libonnxruntime.so.1", want: "libraryPath"},
		{name: "env missing", env: "/nonexistent/lib.so", want: LibraryEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(LibraryEnv, tt.env)
			_, err := ResolveLibrary(tt.configured, "cpu")
			if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "make onnxruntime") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("cache found from package dir", func(t *testing.T) {
		t.Setenv(LibraryEnv, "")
		p, err := ResolveLibrary("", "cpu")
		if err != nil {
			t.Fatalf("%v (run `make onnxruntime`)", err)
		}
		if !strings.HasSuffix(p, "/.cache/onnxruntime/"+LibraryFile) {
			t.Fatalf("path %s", p)
		}
	})
	t.Run("other library after init", func(t *testing.T) {
		requireRuntime(t)
		if err := initRuntime("/tmp/other/libonnxruntime.so.1"); err == nil || !strings.Contains(err.Error(), "already loaded") {
			t.Fatalf("err = %v", err)
		}
	})
}
