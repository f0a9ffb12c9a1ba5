package linear

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// lexiconWords are the tiny lexicon's words by label (animals, math, music).
var lexiconWords = [][]string{
	{"puma", "cougar", "lynx", "jaguar", "otter", "badger"},
	{"lemma", "corollary", "axiom", "tensor", "integer", "scalar"},
	{"oboe", "cello", "flute", "banjo", "harp", "tuba"},
}

// tinyLexicon scores each of lexiconWords for its label, and "the".
func tinyLexicon(t testing.TB) *Lexicon {
	t.Helper()
	words, scores := []string{"the"}, [][]float32{{0.1, 0, -0.1}}
	for l, ws := range lexiconWords {
		for _, w := range ws {
			row := []float32{-2, -2, -2}
			row[l] = 4
			words, scores = append(words, w), append(scores, row)
		}
	}
	lx, err := NewLexicon(words, scores, len(tinyLabels))
	if err != nil {
		t.Fatal(err)
	}
	return lx
}

// tinyLexiconData is tinyData with one row for each lexicon word but the
// last of each label, so that each fold meets words the other did not see.
func tinyLexiconData() []Example {
	data := tinyData()
	for l, ws := range lexiconWords {
		for _, w := range ws[:len(ws)-1] {
			data = append(data, Example{Text: "what about a " + w, Label: l})
		}
	}
	return data
}

func TestLexiconEncodeDecode(t *testing.T) {
	lx := tinyLexicon(t)
	if got := lx.Score("puma"); !slices.Equal(got, []float32{4, -2, -2}) {
		t.Errorf("Score(puma) = %v", got)
	}
	if got := lx.Score("the"); !slices.Equal(got, []float32{0.125, 0, -0.125}) {
		t.Errorf("Score(the) = %v, want values rounded to 1/8", got)
	}
	if lx.Score("tiger") != nil {
		t.Error("a word outside the lexicon has scores")
	}
	back, err := decodeLexicon(lx.encode(), len(tinyLabels))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.words, lx.words) || !slices.Equal(back.vals, lx.vals) {
		t.Error("decode(encode(lexicon)) differs")
	}
	enc := lx.encode()
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no words"},
		{"truncated", enc[:len(enc)-1], "truncated"},
		{"zero-length word", append([]byte{0}, enc...), "truncated or empty"},
		{"value -128", append(slices.Clone(enc[:len(enc)-1]), 0x80), "-128"},
		{"upper case", []byte{3, 'C', 'a', 't', 1, 2, 3}, "not one lowercase word"},
		{"punctuation", []byte{3, 'a', '-', 'b', 1, 2, 3}, "not one lowercase word"},
		{"out of order", []byte{1, 'b', 1, 2, 3, 1, 'a', 1, 2, 3}, "out of order"},
	} {
		if _, err := decodeLexicon(tt.data, len(tinyLabels)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewLexicon([]string{"a"}, [][]float32{{1, 2}}, 3); err == nil {
		t.Error("NewLexicon accepted a row of the wrong length")
	}
	if _, err := NewLexicon([]string{"a", "a"}, [][]float32{{1, 2, 3}, {1, 2, 3}}, 3); err == nil {
		t.Error("NewLexicon accepted a repeated word")
	}
}

func TestLexiconWords(t *testing.T) {
	got := LexiconWords([]string{"[CLS]", "##ing", "cat", "don't", "über", "cat", "Dog", "42", ""})
	if want := []string{"42", "cat", "über"}; !slices.Equal(got, want) {
		t.Errorf("LexiconWords = %q, want %q", got, want)
	}
}

func TestTeacherScoresAreCentred(t *testing.T) {
	rows, err := TeacherScores(context.Background(), []string{"a", "b"}, 2, func(_ context.Context, ws []string) ([][]float32, error) {
		out := make([][]float32, len(ws))
		for i, w := range ws {
			out[i] = map[string][]float32{"a": {0.5, 0.5}, "b": {0.9, 0.1}}[w]
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for l := range 2 {
		if s := rows[0][l] + rows[1][l]; s > 1e-6 || s < -1e-6 {
			t.Errorf("label %d: scores %v, %v do not sum to 0", l, rows[0][l], rows[1][l])
		}
	}
	if rows[1][0] <= rows[0][0] {
		t.Errorf("b's first score %v is not above a's %v", rows[1][0], rows[0][0])
	}
}

func tinyHeadOptions() HeadOptions {
	o := DefaultHeadOptions()
	o.GateWords, o.Folds, o.Crops, o.Epochs, o.LearningRate, o.SeenLimit = 8, 2, 4, 40, 0.2, 1
	return o
}

func trainTinyLexicon(t testing.TB) *Model {
	t.Helper()
	m, err := TrainWithLexicon(context.Background(), tinyLabels, tinyLexiconData(), tinyOptions(), tinyLexicon(t), tinyHeadOptions())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHeadActsOnlyOnShortTextsWithLexiconWords: the head leaves a text alone
// when it has GateWords words or more, or no lexicon word the training data
// lacks, and otherwise moves it toward the teacher's label.
func TestHeadActsOnlyOnShortTextsWithLexiconWords(t *testing.T) {
	base, err := Train(context.Background(), tinyLabels, tinyLexiconData(), tinyOptions())
	if err != nil {
		t.Fatal(err)
	}
	m := trainTinyLexicon(t)
	ctx := context.Background()
	if m.lex.Score("the") != nil {
		t.Error(`"the" occurs in the training data but stayed in the lexicon`)
	}
	same := []string{
		"what does a lion eat",                              // no lexicon word
		"tell me about the badger and the lion and the cat", // 11 words >= GateWords
		"",
	}
	for _, text := range same {
		a, _ := base.Classify(ctx, text)
		b, _ := m.Classify(ctx, text)
		if !slices.Equal(a.Scores, b.Scores) {
			t.Errorf("%q: scores %v with the head, %v without", text, b.Scores, a.Scores)
		}
	}
	for text, want := range map[string]string{"a badger": "animals", "a scalar": "math", "a tuba": "music"} {
		a, _ := base.Classify(ctx, text)
		b, _ := m.Classify(ctx, text)
		l := slices.Index(tinyLabels, want)
		if b.Scores[l] <= a.Scores[l] {
			t.Errorf("%q: %s scores %.3f with the head, %.3f without", text, want, b.Scores[l], a.Scores[l])
		}
	}
}

func TestTrainWithLexiconIsDeterministic(t *testing.T) {
	a, b := trainTinyLexicon(t), trainTinyLexicon(t)
	if !slices.Equal(a.head.Weights, b.head.Weights) || !slices.Equal(a.w, b.w) {
		t.Error("two trainings with the same seed differ")
	}
	// The n-gram weights are Train's.
	plain, err := Train(context.Background(), tinyLabels, tinyLexiconData(), tinyOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.w, plain.w) {
		t.Error("the lexicon changed the n-gram weights")
	}
}

func TestSaveLoadWithLexicon(t *testing.T) {
	m := trainTinyLexicon(t)
	dir := t.TempDir()
	if err := m.Save(dir, nil); err != nil {
		t.Fatal(err)
	}
	got, err := Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, _ := m.Classify(ctx, "a badger")
	b, _ := got.Classify(ctx, "a badger")
	if !slices.Equal(a.Scores, b.Scores) {
		t.Errorf("scores %v after a save/load round trip, %v before", b.Scores, a.Scores)
	}
	files := fstest.MapFS{}
	for _, f := range []string{MetadataFile, WeightsFile, LexiconFile, "category_mapping.json"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = &fstest.MapFile{Data: data}
	}
	for _, tt := range []struct {
		name   string
		break_ func(f fstest.MapFS)
		want   string
	}{
		{"missing lexicon", func(f fstest.MapFS) { delete(f, LexiconFile) }, "read lexicon.bin"},
		{"corrupt lexicon", func(f fstest.MapFS) {
			d := slices.Clone(f[LexiconFile].Data)
			d[len(d)-1] ^= 1
			f[LexiconFile].Data = d
		}, "sha256"},
		{"bad gate", func(f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["lexicon"].(map[string]any)["head"].(map[string]any)["gateWords"] = 0 })
		}, "gateWords 0"},
		{"short head", func(f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["lexicon"].(map[string]any)["head"].(map[string]any)["bias"] = []float32{1} })
		}, "biases"},
		{"other scale", func(f fstest.MapFS) {
			editMeta(t, f, func(m map[string]any) { m["lexicon"].(map[string]any)["scale"] = 0.5 })
		}, "scale 0.5"},
	} {
		fsys := fstest.MapFS{}
		for k, v := range files {
			fsys[k] = &fstest.MapFile{Data: v.Data}
		}
		tt.break_(fsys)
		if _, err := Load(fsys); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	// A model saved without a head removes a stale lexicon file.
	if err := trainTiny(t).Save(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LexiconFile)); !os.IsNotExist(err) {
		t.Errorf("lexicon.bin left behind by a model without a head: %v", err)
	}
}

func TestHeadOptionsValidate(t *testing.T) {
	for _, edit := range []func(*HeadOptions){
		func(o *HeadOptions) { o.GateWords = 1 },
		func(o *HeadOptions) { o.Folds = 1 },
		func(o *HeadOptions) { o.Crops = -1 },
		func(o *HeadOptions) { o.Epochs = 0 },
		func(o *HeadOptions) { o.LearningRate = 0 },
		func(o *HeadOptions) { o.L2 = 1 },
	} {
		o := DefaultHeadOptions()
		edit(&o)
		if o.Validate() == nil {
			t.Errorf("%+v validated", o)
		}
	}
	if err := DefaultHeadOptions().Validate(); err != nil {
		t.Error(err)
	}
}
