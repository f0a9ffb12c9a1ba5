package linear

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

var tinyLabels = []string{"animals", "math", "music"}

// tinyData is a small separable training set.
func tinyData() []Example {
	words := [][]string{
		{"cat", "dog", "horse", "lion", "tiger", "whale", "eagle", "shark"},
		{"integral", "matrix", "equation", "derivative", "prime", "theorem", "algebra", "vector"},
		{"guitar", "melody", "violin", "chord", "piano", "rhythm", "symphony", "drum"},
	}
	var data []Example
	for l, ws := range words {
		for i := range ws {
			text := fmt.Sprintf("Tell me about the %s and the %s please", ws[i], ws[(i+3)%len(ws)])
			data = append(data, Example{Text: text, Label: l})
		}
	}
	return data
}

func tinyOptions() TrainOptions {
	o := DefaultTrainOptions()
	o.Features.BucketsLog2 = 12
	o.Features.HeadWords, o.Features.TailWords = 8, 4
	o.Epochs = 20
	return o
}

func trainTiny(t testing.TB) *Model {
	t.Helper()
	m, err := Train(context.Background(), tinyLabels, tinyData(), tinyOptions())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrainAndClassify(t *testing.T) {
	m := trainTiny(t)
	ctx := context.Background()
	for text, want := range map[string]string{
		"what does a lion eat":           "animals",
		"solve this equation":            "math",
		"how do I tune a violin":         "music",
		"THE DERIVATIVE OF A MATRIX":     "math", // case folds
		"guitar, drum; piano... (chord)": "music",
	} {
		r, err := m.Classify(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		if r.Label != want {
			t.Errorf("%q: %s (%.2f), want %s", text, r.Label, r.Confidence, want)
		}
		checkResult(t, m, r)
	}
	if !slices.Equal(m.Labels(), tinyLabels) {
		t.Errorf("Labels() = %v", m.Labels())
	}
}

// checkResult checks the invariants of any result.
func checkResult(t *testing.T, m *Model, r classifier.Result) {
	t.Helper()
	if len(r.Scores) != len(m.labels) {
		t.Fatalf("%d scores for %d labels", len(r.Scores), len(m.labels))
	}
	var sum float32
	best := 0
	for i, p := range r.Scores {
		if !(p >= 0 && p <= 1) {
			t.Fatalf("score %d = %v", i, p)
		}
		sum += p
		if p > r.Scores[best] {
			best = i
		}
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("scores sum to %v", sum)
	}
	if r.Label != m.labels[best] || r.Confidence != r.Scores[best] {
		t.Errorf("label %s/%v does not match the best score %s/%v", r.Label, r.Confidence, m.labels[best], r.Scores[best])
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	a, b := trainTiny(t), trainTiny(t)
	if !slices.Equal(a.w, b.w) || !slices.Equal(a.bias, b.bias) {
		t.Error("two trainings with the same seed differ")
	}
	o := tinyOptions()
	o.Seed = 7
	c, err := Train(context.Background(), tinyLabels, tinyData(), o)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.w, c.w) {
		t.Error("another seed gave the same weights")
	}
}

func TestTrainErrors(t *testing.T) {
	ctx := context.Background()
	bad := tinyOptions()
	bad.Epochs = 0
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		labels []string
		data   []Example
		opt    TrainOptions
		want   string
	}{
		{"no data", ctx, tinyLabels, nil, tinyOptions(), "no training data"},
		{"one label", ctx, tinyLabels[:1], tinyData()[:1], tinyOptions(), "at least 2 labels"},
		{"label out of range", ctx, tinyLabels, []Example{{"x", 3}}, tinyOptions(), "out of range"},
		{"bad options", ctx, tinyLabels, tinyData(), bad, "epochs"},
		{"canceled", canceled, tinyLabels, tinyData(), tinyOptions(), context.Canceled.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Train(tt.ctx, tt.labels, tt.data, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := trainTiny(t)
	dir := t.TempDir()
	if err := m.Save(dir, &TrainingInfo{Rows: 24, Epochs: 20}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.w, m.w) || !slices.Equal(got.bias, m.bias) || !slices.Equal(got.labels, m.labels) || got.feat != m.feat {
		t.Error("the loaded model differs from the saved one")
	}
	// Saving again gives the same bytes.
	dir2 := t.TempDir()
	if err := got.Save(dir2, &TrainingInfo{Rows: 24, Epochs: 20}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{MetadataFile, WeightsFile, classifier.CategoryMappingFile} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, _ := os.ReadFile(filepath.Join(dir2, f))
		if string(a) != string(b) {
			t.Errorf("%s differs after a load/save round trip", f)
		}
	}
}

// modelFS returns the files of a saved tiny model.
func modelFS(t *testing.T) fstest.MapFS {
	t.Helper()
	dir := t.TempDir()
	if err := trainTiny(t).Save(dir, nil); err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, f := range []string{MetadataFile, WeightsFile, classifier.CategoryMappingFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = &fstest.MapFile{Data: b}
	}
	return out
}

// editMeta rewrites linear.json through a map.
func editMeta(t *testing.T, fsys fstest.MapFS, edit func(map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fsys[MetadataFile].Data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ := json.Marshal(m)
	fsys[MetadataFile] = &fstest.MapFile{Data: b}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, fsys fstest.MapFS)
		want   string
	}{
		{"missing linear.json", func(t *testing.T, f fstest.MapFS) { delete(f, MetadataFile) }, "read linear.json"},
		{"missing weights", func(t *testing.T, f fstest.MapFS) { delete(f, WeightsFile) }, "read weights.bin"},
		{"missing labels", func(t *testing.T, f fstest.MapFS) { delete(f, classifier.CategoryMappingFile) }, "read category_mapping.json"},
		{"corrupt linear.json", func(t *testing.T, f fstest.MapFS) { f[MetadataFile].Data = []byte(`{"format":`) }, "linear.json: invalid"},
		{"unknown field", func(t *testing.T, f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["extra"] = 1 })
		}, "unknown field"},
		{"other format", func(t *testing.T, f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["version"] = 2 })
		}, "version 2"},
		{"bad features", func(t *testing.T, f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["features"].(map[string]any)["bucketsLog2"] = 40 })
		}, "bucketsLog2 40"},
		{"label count mismatch", func(t *testing.T, f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["numLabels"] = 4 })
		}, "label count mismatch"},
		{"weights size mismatch", func(t *testing.T, f fstest.MapFS) {
			f[WeightsFile].Data = f[WeightsFile].Data[:100]
		}, "weights.bin has 100 bytes"},
		{"buckets disagree with weights", func(t *testing.T, f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["features"].(map[string]any)["bucketsLog2"] = 13 })
		}, "want"},
		{"checksum", func(t *testing.T, f fstest.MapFS) {
			d := slices.Clone(f[WeightsFile].Data)
			d[10] ^= 1
			f[WeightsFile].Data = d
		}, "sha256"},
		{"NaN weight", func(t *testing.T, f fstest.MapFS) {
			d := slices.Clone(f[WeightsFile].Data)
			d[0], d[1] = 0x00, 0x7e
			f[WeightsFile].Data = d
			editMeta(t, f, func(m map[string]any) { m["weights"].(map[string]any)["sha256"] = "" })
		}, "value 0 is NaN"},
		{"bad dtype", func(t *testing.T, f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["weights"].(map[string]any)["dtype"] = "int8" })
		}, `dtype "int8"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := modelFS(t)
			tt.break_(t, fsys)
			_, err := Load(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "linear model: ") {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRuntimeInputs(t *testing.T) {
	m := trainTiny(t)
	ctx := context.Background()
	prior, _ := m.Classify(ctx, "")
	tests := []struct {
		name      string
		text      string
		truncated bool
		isPrior   bool // no word at all: the prior result
	}{
		{"empty", "", false, true},
		{"whitespace", " \t\n ", false, true},
		{"punctuation", "?!... ,;", false, true},
		{"invalid UTF-8", "\xff\xfe\xfd", false, true},
		{"invalid UTF-8 inside words", "lion\xffdog", false, false},
		{"control characters", "lion\x00\x01\x7fdog\u200b", false, false},
		{"NUL only", "\x00\x00", false, true},
		{"non-Latin", "Какова производная функции? 関数の導関数は何ですか", false, false},
		{"one long word", strings.Repeat("lion", 1<<18), true, false},
		{"1 MB of words", strings.Repeat("lion ", 1<<20/5), true, false},
		{"exactly the word limit", strings.Repeat("lion ", 12), false, false},
		{"one word over the limit", strings.Repeat("lion ", 13), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := m.Classify(ctx, tt.text)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, m, r)
			if r.Truncated != tt.truncated {
				t.Errorf("Truncated = %v, want %v", r.Truncated, tt.truncated)
			}
			if isPrior := slices.Equal(r.Scores, prior.Scores); isPrior != tt.isPrior {
				t.Errorf("prior result = %v, want %v", isPrior, tt.isPrior)
			}
		})
	}
}

func TestWindowKeepsHeadAndTail(t *testing.T) {
	m := trainTiny(t) // head 8, tail 4 words
	ctx := context.Background()
	filler := strings.Repeat("zzz ", 50)
	head, _ := m.Classify(ctx, "lion tiger whale eagle shark cat dog horse "+filler)
	tail, _ := m.Classify(ctx, filler+"guitar violin piano drum")
	if head.Label != "animals" || tail.Label != "music" || !head.Truncated || !tail.Truncated {
		t.Errorf("head %s %v, tail %s %v", head.Label, head.Truncated, tail.Label, tail.Truncated)
	}
}

func TestContextAndClose(t *testing.T) {
	m := trainTiny(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Classify(ctx, "lion"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled Classify: %v", err)
	}
	if _, err := m.ClassifyBatch(ctx, []string{"lion"}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled ClassifyBatch: %v", err)
	}
	rs, err := m.ClassifyBatch(context.Background(), []string{"lion", "violin", ""})
	if err != nil || len(rs) != 3 || rs[0].Label != "animals" || rs[1].Label != "music" {
		t.Errorf("ClassifyBatch = %v, %v", rs, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Classify(context.Background(), "lion"); !errors.Is(err, classifier.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestConcurrent classifies from many goroutines (run with -race) and
// checks every answer equals the sequential one.
func TestConcurrent(t *testing.T) {
	m := trainTiny(t)
	ctx := context.Background()
	texts := []string{"lion", "matrix theorem", "violin melody", "", strings.Repeat("drum ", 100)}
	want := make([]classifier.Result, len(texts))
	for i, tx := range texts {
		want[i], _ = m.Classify(ctx, tx)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(texts)
				r, err := m.Classify(ctx, texts[k])
				if err != nil || r.Label != want[k].Label || !slices.Equal(r.Scores, want[k].Scores) {
					t.Errorf("goroutine %d: %q gave %v, %v", g, texts[k], r, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestFeatures(t *testing.T) {
	f := DefaultFeatures()
	f.BucketsLog2 = 16
	var s scratch
	vec := func(text string) map[uint32]float32 {
		f.featurize(text, &s)
		out := map[uint32]float32{}
		for i, b := range s.idx {
			out[b] = s.val[i]
		}
		return out
	}
	// Case and separators do not matter; the vector is L2-normalised.
	a, b := vec("Hello, World!"), vec("hello world")
	if len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("case/punctuation changed the features:\n%v\n%v", a, b)
	}
	var norm float64
	for _, v := range a {
		norm += float64(v) * float64(v)
	}
	if norm < 0.999 || norm > 1.001 {
		t.Errorf("norm² = %v", norm)
	}
	// Word order matters through bigrams.
	if fmt.Sprint(vec("world hello")) == fmt.Sprint(a) {
		t.Error("bigrams ignored word order")
	}
	// Non-ASCII letters lowercase too, and an accented word is one word.
	if fmt.Sprint(vec("ÉCOLE Straße")) != fmt.Sprint(vec("école straße")) {
		t.Error("Unicode lowercasing")
	}
	if len(vec("é")) == 0 {
		t.Error("a non-ASCII letter made no feature")
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		edit func(*Features)
		want string
	}{
		{func(f *Features) { f.WordNgrams = 3 }, "wordNgrams"},
		{func(f *Features) { f.CharNgramMin = 0 }, "char n-gram"},
		{func(f *Features) { f.CharNgramMax = 9 }, "char n-gram"},
		{func(f *Features) { f.CharWeight = 0 }, "charWeight"},
		{func(f *Features) { f.HeadWords, f.TailWords = 0, 0 }, "headWords"},
		{func(f *Features) { f.BucketsLog2 = 7 }, "bucketsLog2"},
	} {
		f := DefaultFeatures()
		tt.edit(&f)
		if err := f.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", f, err, tt.want)
		}
	}
	if err := DefaultFeatures().Validate(); err != nil {
		t.Error(err)
	}
}
