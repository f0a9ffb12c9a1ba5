package linear

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"unicode/utf8"
)

// LexiconFile is the file of a model directory that holds the lexicon.
const LexiconFile = "lexicon.bin"

// lexiconScale is the step of the lexicon's int8 values in nats: coarse, so
// that the small differences between CPUs' int8 kernels in the teacher that
// produced them rarely change a stored value.
const lexiconScale = 0.125

// Lexicon holds, for each word of a vocabulary, one score per label: a
// teacher model's log-probabilities for the word alone, centred on their
// vocabulary mean. A short text has few n-gram features; the lexicon gives
// the model what the teacher knows about its words (docs/classifier.md,
// "Lexicon").
type Lexicon struct {
	// Teacher says where the scores come from (recorded in linear.json).
	Teacher string
	words   []string // sorted
	vals    []int8   // len(words) × numLabels
	nl      int
	index   map[uint64]int32
}

// NewLexicon builds a lexicon from per-word scores (one row of numLabels
// values per word), quantised to lexicon steps. Words are lowercased text
// the featurizer keeps as one word; a repeated or empty word is an error.
func NewLexicon(words []string, scores [][]float32, numLabels int) (*Lexicon, error) {
	if len(words) != len(scores) {
		return nil, fmt.Errorf("lexicon: %d words, %d score rows", len(words), len(scores))
	}
	order := make([]int, len(words))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmpString(words[a], words[b]) })
	lx := &Lexicon{nl: numLabels}
	for _, i := range order {
		if len(scores[i]) != numLabels {
			return nil, fmt.Errorf("lexicon: word %q has %d scores, want %d", words[i], len(scores[i]), numLabels)
		}
		lx.words = append(lx.words, words[i])
		for _, v := range scores[i] {
			lx.vals = append(lx.vals, quantise(v))
		}
	}
	if err := lx.buildIndex(); err != nil {
		return nil, err
	}
	return lx, nil
}

func cmpString(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

func quantise(v float32) int8 {
	q := math.Round(float64(v) / lexiconScale)
	return int8(max(-127, min(127, q)))
}

// Len is the number of words.
func (lx *Lexicon) Len() int { return len(lx.words) }

// Score returns the dequantised scores of word (lowercase), or nil.
func (lx *Lexicon) Score(word string) []float32 {
	i, ok := lx.index[lexKey([]rune(word))]
	if !ok {
		return nil
	}
	out := make([]float32, lx.nl)
	for l := range out {
		out[l] = float32(lx.vals[int(i)*lx.nl+l]) * lexiconScale
	}
	return out
}

// lexKey hashes a lowercased word (its own kind, so it never equals a
// feature hash; the full 64 bits, so the vocabulary's words do not collide).
func lexKey(w []rune) uint64 {
	h := mix(fnvOffset, kindLexicon)
	for _, r := range w {
		h = mix(h, r)
	}
	return h
}

func (lx *Lexicon) buildIndex() error {
	lx.index = make(map[uint64]int32, len(lx.words))
	for i, w := range lx.words {
		if w == "" || !utf8.ValidString(w) {
			return fmt.Errorf("lexicon: word %d is empty or not UTF-8", i)
		}
		for _, r := range w {
			if !isWordRune(r) || lower(r) != r {
				return fmt.Errorf("lexicon: word %q is not one lowercase word of the featurizer", w)
			}
		}
		if i > 0 && lx.words[i-1] >= w {
			return fmt.Errorf("lexicon: words %q and %q are repeated or out of order", lx.words[i-1], w)
		}
		k := lexKey([]rune(w))
		if j, dup := lx.index[k]; dup {
			return fmt.Errorf("lexicon: words %q and %q hash alike", lx.words[j], w)
		}
		lx.index[k] = int32(i)
	}
	return nil
}

// encode writes the lexicon file: for each word in byte order, one byte of
// length, the word's UTF-8 bytes and numLabels int8 values.
func (lx *Lexicon) encode() []byte {
	var b []byte
	for i, w := range lx.words {
		b = append(b, byte(len(w)))
		b = append(b, w...)
		for _, v := range lx.vals[i*lx.nl : (i+1)*lx.nl] {
			b = append(b, byte(v))
		}
	}
	return b
}

// decodeLexicon reads a lexicon file written by encode.
func decodeLexicon(b []byte, numLabels int) (*Lexicon, error) {
	lx := &Lexicon{nl: numLabels}
	for off := 0; off < len(b); {
		n := int(b[off])
		if n == 0 || off+1+n+numLabels > len(b) {
			return nil, fmt.Errorf("lexicon: record at byte %d is truncated or empty", off)
		}
		lx.words = append(lx.words, string(b[off+1:off+1+n]))
		for _, v := range b[off+1+n : off+1+n+numLabels] {
			if int8(v) == -128 {
				return nil, fmt.Errorf("lexicon: record at byte %d has value -128 (out of range)", off)
			}
			lx.vals = append(lx.vals, int8(v))
		}
		off += 1 + n + numLabels
	}
	if len(lx.words) == 0 {
		return nil, errors.New("lexicon: no words")
	}
	if err := lx.buildIndex(); err != nil {
		return nil, err
	}
	return lx, nil
}

// LoadLexicon reads a lexicon file of numLabels scores per word.
func LoadLexicon(fsys fs.FS, name string, numLabels int) (*Lexicon, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	lx, err := decodeLexicon(b, numLabels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return lx, nil
}

// LexiconWords lists the words of a WordPiece vocabulary that the featurizer
// keeps whole (no "##" continuations, no [special] tokens, nothing with
// punctuation), lowercased, in byte order, without repeats.
func LexiconWords(vocab []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range vocab {
		ok := t != "" && len(t) < 256
		for _, r := range t {
			ok = ok && isWordRune(r) && lower(r) == r
		}
		if ok && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.SortFunc(out, cmpString)
	return out
}

// TeacherScores runs score (a classifier's per-label probabilities) on each
// word and returns its log-probabilities centred on their mean over the
// words, the rows NewLexicon takes.
func TeacherScores(ctx context.Context, words []string, numLabels int, score func(context.Context, []string) ([][]float32, error)) ([][]float32, error) {
	const chunk = 256
	out := make([][]float32, 0, len(words))
	for i := 0; i < len(words); i += chunk {
		ps, err := score(ctx, words[i:min(i+chunk, len(words))])
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if len(p) != numLabels {
				return nil, fmt.Errorf("teacher gave %d scores, want %d", len(p), numLabels)
			}
			row := make([]float32, numLabels)
			for l, v := range p {
				row[l] = float32(math.Log(max(float64(v), 1e-6)))
			}
			out = append(out, row)
		}
	}
	mean := make([]float64, numLabels)
	for _, row := range out {
		for l, v := range row {
			mean[l] += float64(v)
		}
	}
	for _, row := range out {
		for l := range row {
			row[l] -= float32(mean[l] / float64(len(out)))
		}
	}
	return out, nil
}

// WriteFile writes the lexicon file.
func (lx *Lexicon) WriteFile(name string) error { return os.WriteFile(name, lx.encode(), 0o644) }

func lexiconSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
