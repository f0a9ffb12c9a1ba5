// Package tokenizer turns text into the token ids a transformer classifier
// takes, reading a Hugging Face tokenizer.json. It implements only what the
// supported model formats use, and its ids are tested to match the Python
// `tokenizers` library exactly on a fixture set (testdata/gen_fixtures.py):
//
//   - WordPiece, for BERT-family encoders (the shipped MiniLM model):
//     BertNormalizer, BertPreTokenizer, WordPiece;
//   - byte-level BPE, for ModernBERT: NFC normalizer, ByteLevel
//     pre-tokenizer, BPE;
//   - byte-fallback BPE, for SentencePiece-derived tokenizers (Gemma's,
//     which mmBERT uses; older Llama-style conversions): Replace and
//     Prepend normalizers with literal patterns, Split (literal pattern) or
//     Metaspace pre-tokenizer, BPE with byte_fallback (a character missing
//     from the vocab becomes its UTF-8 bytes as <0xXX> tokens) and fuse_unk;
//   - for all: TemplateProcessing, added tokens, normalizer Sequence.
//
// Anything else in tokenizer.json (other model types, normalizers,
// pre-tokenizers or post-processors, regular-expression patterns, BPE
// dropout or ignore_merges) is reported by Load, never ignored.
//
// Truncation is left to the caller: Tokenize returns the content ids without
// special tokens, the caller windows them (window.Window) and Wrap adds
// the special tokens.
package tokenizer

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Encoding is a tokenized text ready for a model: ids with special tokens,
// their token type ids and the attention mask (all ones; padding is added by
// whoever builds a batch).
type Encoding struct {
	IDs           []int64
	TypeIDs       []int64
	AttentionMask []int64
}

// Tokenizer is a loaded tokenizer.json. It is immutable and safe for
// concurrent use.
type Tokenizer struct {
	added      []addedToken // sorted longest content first
	normalize  func(string) string
	preTok     preTokenizer
	model      model
	post       postProcessor
	vocabSize  int
	maxLength  int
	hasAddedTk bool
	// splitsAtSpace: cutting after ASCII whitespace keeps the ids (HeadTail).
	splitsAtSpace bool
}

type addedToken struct {
	content        string
	id             int32
	lstrip, rstrip bool // the match takes the whitespace on its left/right
}

// model turns one pre-tokenized piece into ids.
type model interface {
	appendIDs(dst []int32, piece string) []int32
	maxID() int
}

// preTokenizer splits normalized text into pieces and calls fn for each;
// first says the text starts at the beginning of the input (not after an
// added token), which Metaspace's prepend_scheme "first" needs.
type preTokenizer func(text string, first bool, fn func(piece string))

// fileJSON is the subset of tokenizer.json that Load reads.
type fileJSON struct {
	AddedTokens []struct {
		ID         int32  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         json.RawMessage `json:"model"`
	Truncation    *struct {
		MaxLength int `json:"max_length"`
	} `json:"truncation"`
}

// LoadFS reads and parses the tokenizer file name from fsys.
func LoadFS(fsys fs.FS, name string) (*Tokenizer, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("reading tokenizer: %w", err)
	}
	t, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", name, err)
	}
	return t, nil
}

// Load parses the contents of a tokenizer.json.
func Load(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", err)
	}
	if isNull(f.Model) {
		return nil, fmt.Errorf("tokenizer.json has no model")
	}
	t := &Tokenizer{}
	var err error
	var modelHead struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(f.Model, &modelHead); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	switch modelHead.Type {
	case "WordPiece":
		t.model, err = newWordPiece(f.Model)
	case "BPE":
		t.model, err = newBPE(f.Model)
	default:
		return nil, fmt.Errorf("model type %q is not supported (WordPiece, BPE are)", modelHead.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", modelHead.Type, err)
	}
	if t.normalize, err = newNormalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	if t.preTok, err = newPreTokenizer(f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	t.vocabSize = t.model.maxID() + 1
	for _, a := range f.AddedTokens {
		if a.Content == "" || a.ID < 0 {
			return nil, fmt.Errorf("added token %q has an invalid id %d or empty content", a.Content, a.ID)
		}
		if a.SingleWord {
			return nil, fmt.Errorf("added token %q: single_word is not supported", a.Content)
		}
		// Added tokens are matched on the raw text, before normalization,
		// whatever their "normalized" flag says. That is what the library
		// does unless the normalizer rewrites the token itself, which only
		// the SentencePiece-style Replace/Prepend normalizers do to tokens
		// a real file marks normalized: refuse those.
		if a.Normalized && t.normalize != nil && rewritesSpaces(f.Normalizer) {
			if n := t.normalize(a.Content); n != a.Content {
				return nil, fmt.Errorf("added token %q is normalized (to %q) before matching, which is not supported with Replace/Prepend normalizers", a.Content, n)
			}
		}
		t.added = append(t.added, addedToken{content: a.Content, id: a.ID, lstrip: a.LStrip, rstrip: a.RStrip})
		t.vocabSize = max(t.vocabSize, int(a.ID)+1)
	}
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i].content) > len(t.added[j].content) })
	t.hasAddedTk = len(t.added) > 0
	var preHead struct {
		Type string `json:"type"`
	}
	if !isNull(f.PreTokenizer) {
		_ = json.Unmarshal(f.PreTokenizer, &preHead) // already parsed by newPreTokenizer
	}
	t.splitsAtSpace = splitsAtSpace(preHead.Type, t.added)
	if t.post, err = newPostProcessor(f.PostProcessor); err != nil {
		return nil, fmt.Errorf("post_processor: %w", err)
	}
	for _, s := range append(append([]special(nil), t.post.prefix...), t.post.suffix...) {
		if int(s.id) >= t.vocabSize || s.id < 0 {
			return nil, fmt.Errorf("post_processor: special token id %d is outside the vocabulary (%d)", s.id, t.vocabSize)
		}
	}
	if f.Truncation != nil {
		t.maxLength = f.Truncation.MaxLength
	}
	return t, nil
}

// rewritesSpaces reports whether the normalizer section holds a Replace or
// Prepend normalizer, at any depth of Sequence.
func rewritesSpaces(raw json.RawMessage) bool {
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if isNull(raw) || json.Unmarshal(raw, &n) != nil {
		return false
	}
	if n.Type == "Replace" || n.Type == "Prepend" {
		return true
	}
	for _, r := range n.Normalizers {
		if rewritesSpaces(r) {
			return true
		}
	}
	return false
}

func isNull(m json.RawMessage) bool {
	s := strings.TrimSpace(string(m))
	return s == "" || s == "null"
}

// VocabSize is one more than the largest id the tokenizer can produce.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// TruncationMaxLength is the max_length of tokenizer.json's truncation
// section, or 0 when it has none. It is a hint only: this package never
// truncates.
func (t *Tokenizer) TruncationMaxLength() int { return t.maxLength }

// SpecialTokens is the number of special tokens Wrap adds to one sequence.
func (t *Tokenizer) SpecialTokens() int { return len(t.post.prefix) + len(t.post.suffix) }

// Tokenize returns the content ids of text, without special tokens. Invalid
// UTF-8 is read as U+FFFD, one per invalid byte.
func (t *Tokenizer) Tokenize(text string) []int32 {
	var ids []int32
	t.Each(text, func(id int32) { ids = append(ids, id) })
	return ids
}

// Each calls fn with each content id of text in order, without building a
// slice, so that a caller can window a very long text in bounded memory.
func (t *Tokenizer) Each(text string, fn func(id int32)) {
	if !utf8.ValidString(text) {
		text = toValidUTF8(text)
	}
	var buf []int32
	emit := func(segment string, first bool) {
		if segment == "" {
			return
		}
		if t.normalize != nil {
			segment = t.normalize(segment)
		}
		t.preTok(segment, first, func(piece string) {
			buf = t.model.appendIDs(buf[:0], piece)
			for _, id := range buf {
				fn(id)
			}
		})
	}
	if !t.hasAddedTk {
		emit(text, true)
		return
	}
	m := newAddedMatcher(t.added)
	for cursor := 0; cursor < len(text); {
		pos, tok := m.next(text, cursor)
		if pos < 0 {
			emit(text[cursor:], cursor == 0)
			return
		}
		start, end := pos, pos+len(tok.content)
		if tok.lstrip {
			start = cursor + len(strings.TrimRightFunc(text[cursor:start], unicode.IsSpace))
		}
		if tok.rstrip {
			end = len(text) - len(strings.TrimLeftFunc(text[end:], unicode.IsSpace))
		}
		emit(text[cursor:start], cursor == 0)
		fn(tok.id)
		cursor = end
	}
}

// addedMatcher finds added tokens left to right, remembering each token's
// next occurrence so that a long text is scanned once per added token in
// total, not once per match.
type addedMatcher struct {
	added []addedToken
	at    []int // next occurrence of added[i] at or after the last cursor; -2 unknown, -1 none
}

func newAddedMatcher(added []addedToken) *addedMatcher {
	m := &addedMatcher{added: added, at: make([]int, len(added))}
	for i := range m.at {
		m.at[i] = -2
	}
	return m
}

// next returns the leftmost added token at or after cursor (the longest at
// that position: added is sorted longest first) and its offset, or -1.
func (m *addedMatcher) next(s string, cursor int) (int, addedToken) {
	best, bestTok := -1, addedToken{}
	for i, a := range m.added {
		if m.at[i] == -2 || (m.at[i] >= 0 && m.at[i] < cursor) {
			m.at[i] = -1
			if j := strings.Index(s[cursor:], a.content); j >= 0 {
				m.at[i] = cursor + j
			}
		}
		if p := m.at[i]; p >= 0 && (best < 0 || p < best) {
			best, bestTok = p, a
		}
	}
	return best, bestTok
}

// Wrap adds the post-processor's special tokens around content ids and
// returns the model inputs.
func (t *Tokenizer) Wrap(content []int32) Encoding {
	n := len(content) + t.SpecialTokens()
	e := Encoding{IDs: make([]int64, 0, n), TypeIDs: make([]int64, 0, n), AttentionMask: make([]int64, n)}
	for _, s := range t.post.prefix {
		e.IDs, e.TypeIDs = append(e.IDs, int64(s.id)), append(e.TypeIDs, s.typeID)
	}
	for _, id := range content {
		e.IDs, e.TypeIDs = append(e.IDs, int64(id)), append(e.TypeIDs, t.post.seqTypeID)
	}
	for _, s := range t.post.suffix {
		e.IDs, e.TypeIDs = append(e.IDs, int64(s.id)), append(e.TypeIDs, s.typeID)
	}
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
	}
	return e
}

// Encode tokenizes text and adds the special tokens, without truncation.
func (t *Tokenizer) Encode(text string) Encoding { return t.Wrap(t.Tokenize(text)) }

// toValidUTF8 replaces each invalid byte with U+FFFD.
func toValidUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r) // range yields utf8.RuneError for each invalid byte
	}
	return b.String()
}
