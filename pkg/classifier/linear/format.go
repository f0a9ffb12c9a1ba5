package linear

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/x448/float16"

	"github.com/semantic-epp/semantic-epp/pkg/classifier"
)

// Files of a linear model directory.
const (
	MetadataFile = "linear.json"
	WeightsFile  = "weights.bin"
	// FormatName and FormatVersion identify the layout described here; Load
	// refuses any other.
	FormatName    = "semantic-epp-linear"
	FormatVersion = 1
)

// Metadata is the content of linear.json.
type Metadata struct {
	Format    string   `json:"format"`
	Version   int      `json:"version"`
	NumLabels int      `json:"numLabels"`
	Features  Features `json:"features"`
	Weights   struct {
		File string `json:"file"`
		// DType is "float16": IEEE 754 binary16, little-endian.
		DType string `json:"dtype"`
		// Layout is "bucket-major+bias": buckets×numLabels weights (bucket
		// b, label l at b*numLabels+l), then numLabels biases.
		Layout string `json:"layout"`
		SHA256 string `json:"sha256"`
	} `json:"weights"`
	// Lexicon, when present, is the short-text head and its word scores.
	Lexicon *LexiconMetadata `json:"lexicon,omitempty"`
	// Training records how the model was made; Load does not read it.
	Training *TrainingInfo `json:"training,omitempty"`
}

// LexiconMetadata describes a model's lexicon file and head.
type LexiconMetadata struct {
	// File holds the words and their int8 scores (lexicon.go, encode).
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Words  int    `json:"words"`
	// Scale is the value of one int8 step, in nats.
	Scale float64 `json:"scale"`
	// Teacher says where the scores come from; Load does not read it.
	Teacher string `json:"teacher,omitempty"`
	Head    Head   `json:"head"`
}

const (
	dtypeFloat16 = "float16"
	layoutDense  = "bucket-major+bias"
)

// Load reads a model directory (linear.json, weights.bin,
// category_mapping.json) from fsys, which may be an embedded file system.
// Every inconsistency is an error naming the file.
func Load(fsys fs.FS) (*Model, error) {
	m, err := load(fsys)
	if err != nil {
		return nil, fmt.Errorf("linear model: %w", err)
	}
	return m, nil
}

func load(fsys fs.FS) (*Model, error) {
	b, err := fs.ReadFile(fsys, MetadataFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", MetadataFile, err)
	}
	var md Metadata
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&md); err != nil {
		return nil, fmt.Errorf("%s: invalid: %w", MetadataFile, err)
	}
	if md.Format != FormatName || md.Version != FormatVersion {
		return nil, fmt.Errorf("%s: format %q version %d, want %q version %d", MetadataFile, md.Format, md.Version, FormatName, FormatVersion)
	}
	if err := md.Features.Validate(); err != nil {
		return nil, fmt.Errorf("%s: features: %w", MetadataFile, err)
	}
	if md.Weights.DType != dtypeFloat16 || md.Weights.Layout != layoutDense {
		return nil, fmt.Errorf("%s: weights dtype %q layout %q, want %q %q", MetadataFile, md.Weights.DType, md.Weights.Layout, dtypeFloat16, layoutDense)
	}
	labels, err := classifier.ReadCategoryMapping(fsys)
	if err != nil {
		return nil, err
	}
	if len(labels) != md.NumLabels {
		return nil, fmt.Errorf("label count mismatch: %s has %d labels, %s says numLabels %d", classifier.CategoryMappingFile, len(labels), MetadataFile, md.NumLabels)
	}
	wfile := md.Weights.File
	if wfile == "" {
		wfile = WeightsFile
	}
	raw, err := fs.ReadFile(fsys, wfile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", wfile, err)
	}
	nl, nb := len(labels), md.Features.Buckets()
	if want := (nb*nl + nl) * 2; len(raw) != want {
		return nil, fmt.Errorf("%s has %d bytes, want %d (%d buckets × %d labels + %d biases, float16)", wfile, len(raw), want, nb, nl, nl)
	}
	if md.Weights.SHA256 != "" {
		sum := sha256.Sum256(raw)
		if got := hex.EncodeToString(sum[:]); got != md.Weights.SHA256 {
			return nil, fmt.Errorf("%s: sha256 %s, %s says %s: the file is corrupt or from another model", wfile, got, MetadataFile, md.Weights.SHA256)
		}
	}
	m := newModel(labels, md.Features)
	if md.Lexicon != nil {
		if m.lex, m.head, err = loadLexicon(fsys, md.Lexicon, nl); err != nil {
			return nil, err
		}
	}
	for i := range nb*nl + nl {
		v := float16.Frombits(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%s: value %d is %v", wfile, i, v)
		}
		if i < nb*nl {
			m.row(i / nl)[i%nl] = v
		} else {
			m.bias[i-nb*nl] = v
		}
	}
	return m, nil
}

// Save writes the model directory dir (created if missing): weights.bin as
// float16, linear.json and category_mapping.json. The bytes depend only on
// the model and info, so retraining with the same data and options
// reproduces the files exactly.
func (m *Model) Save(dir string, info *TrainingInfo) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	nb := m.feat.Buckets()
	raw := make([]byte, 0, 2*(nb+1)*len(m.labels))
	for b := range nb {
		for _, v := range m.row(b) {
			raw = binary.LittleEndian.AppendUint16(raw, float16.Fromfloat32(v).Bits())
		}
	}
	for _, v := range m.bias {
		raw = binary.LittleEndian.AppendUint16(raw, float16.Fromfloat32(v).Bits())
	}
	md := Metadata{Format: FormatName, Version: FormatVersion, NumLabels: len(m.labels), Features: m.feat, Training: info}
	md.Weights.File, md.Weights.DType, md.Weights.Layout = WeightsFile, dtypeFloat16, layoutDense
	sum := sha256.Sum256(raw)
	md.Weights.SHA256 = hex.EncodeToString(sum[:])
	var lexBytes []byte
	if m.head != nil {
		lexBytes = m.lex.encode()
		md.Lexicon = &LexiconMetadata{File: LexiconFile, SHA256: lexiconSHA256(lexBytes), Words: m.lex.Len(),
			Scale: lexiconScale, Teacher: m.lex.Teacher, Head: *m.head}
	}
	meta, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	var labels bytes.Buffer
	if err := classifier.WriteCategoryMapping(&labels, m.labels); err != nil {
		return err
	}
	lexPath := filepath.Join(dir, LexiconFile)
	var lexErr error
	if lexBytes != nil {
		lexErr = os.WriteFile(lexPath, lexBytes, 0o644)
	} else if err := os.Remove(lexPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		lexErr = err
	}
	return errors.Join(lexErr,
		os.WriteFile(filepath.Join(dir, WeightsFile), raw, 0o644),
		os.WriteFile(filepath.Join(dir, MetadataFile), append(meta, '\n'), 0o644),
		os.WriteFile(filepath.Join(dir, classifier.CategoryMappingFile), labels.Bytes(), 0o644),
	)
}

// loadLexicon reads and checks the lexicon file and head md describes.
func loadLexicon(fsys fs.FS, md *LexiconMetadata, nl int) (*Lexicon, *Head, error) {
	if md.File == "" || md.Scale != lexiconScale {
		return nil, nil, fmt.Errorf("%s: lexicon file %q scale %v, want a file and scale %v", MetadataFile, md.File, md.Scale, lexiconScale)
	}
	raw, err := fs.ReadFile(fsys, md.File)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", md.File, err)
	}
	if got := lexiconSHA256(raw); got != md.SHA256 {
		return nil, nil, fmt.Errorf("%s: sha256 %s, %s says %s: the file is corrupt or from another model", md.File, got, MetadataFile, md.SHA256)
	}
	lx, err := decodeLexicon(raw, nl)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", md.File, err)
	}
	if lx.Len() != md.Words {
		return nil, nil, fmt.Errorf("%s: %d words, %s says %d", md.File, lx.Len(), MetadataFile, md.Words)
	}
	lx.Teacher = md.Teacher
	h := md.Head
	if err := h.validate(nl); err != nil {
		return nil, nil, fmt.Errorf("%s: lexicon head: %w", MetadataFile, err)
	}
	return lx, &h, nil
}
