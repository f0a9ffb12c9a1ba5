package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// wordPiece is BERT's greedy longest-match-first subword model.
type wordPiece struct {
	vocab        map[string]int32 // word-initial pieces
	continuation map[string]int32 // pieces after the first, keyed without the prefix
	unk          int32
	maxChars     int
	top          int
}

func newWordPiece(raw json.RawMessage) (*wordPiece, error) {
	var m struct {
		UnkToken string           `json:"unk_token"`
		Prefix   *string          `json:"continuing_subword_prefix"`
		MaxChars int              `json:"max_input_chars_per_word"`
		Vocab    map[string]int32 `json:"vocab"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("empty vocab")
	}
	prefix := "##"
	if m.Prefix != nil {
		prefix = *m.Prefix
	}
	if m.MaxChars <= 0 {
		m.MaxChars = 100
	}
	w := &wordPiece{vocab: m.Vocab, continuation: map[string]int32{}, maxChars: m.MaxChars}
	unk, ok := m.Vocab[m.UnkToken]
	if !ok {
		return nil, fmt.Errorf("unk_token %q is not in the vocab", m.UnkToken)
	}
	w.unk = unk
	for tok, id := range m.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("token %q has negative id %d", tok, id)
		}
		w.top = max(w.top, int(id))
		if prefix != "" && strings.HasPrefix(tok, prefix) {
			w.continuation[tok[len(prefix):]] = id
		}
	}
	return w, nil
}

func (w *wordPiece) maxID() int { return w.top }

func (w *wordPiece) appendIDs(dst []int32, word string) []int32 {
	if utf8.RuneCountInString(word) > w.maxChars {
		return append(dst, w.unk)
	}
	start := len(dst)
	for pos := 0; pos < len(word); {
		table := w.vocab
		if pos > 0 {
			table = w.continuation
		}
		found := false
		for end := len(word); end > pos; {
			if id, ok := table[word[pos:end]]; ok {
				dst = append(dst, id)
				pos, found = end, true
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[pos:end])
			end -= size
		}
		if !found {
			return append(dst[:start], w.unk)
		}
	}
	return dst
}
