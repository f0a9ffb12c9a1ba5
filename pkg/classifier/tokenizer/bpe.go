package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// bpe is a byte-pair-encoding model as the Hugging Face library runs it:
// each character of a piece becomes a symbol (its vocab id; with
// byte_fallback, a character missing from the vocab becomes its UTF-8 bytes
// as <0xXX> tokens; else the unknown token, runs of them fused into one with
// fuse_unk), then merges apply by rank. Byte-level tokenizers (GPT-2,
// RoBERTa, ModernBERT) reach it with bytes already mapped to runes;
// SentencePiece-derived ones (Gemma, mmBERT) with ▁ for spaces and byte
// fallback.
type bpe struct {
	vocab        map[string]int32
	merges       map[[2]int32]merge
	unk          int32 // -1: unknown symbols are dropped, as the library does
	fuseUnk      bool
	byteFallback bool
	byteIDs      [256]int32 // id of <0xXX>; -1 when the vocab lacks it
	top          int
	// cutAtMark: no token holds ▁ after another character, so a piece can
	// be cut before every ▁ that follows a non-▁ without changing its ids
	// (see wordStarts).
	cutAtMark bool

	mu    sync.RWMutex
	cache map[string][]int32 // piece → ids; bounded, cleared when full
}

type merge struct {
	rank int
	id   int32
}

const bpeCacheSize = 10000

func newBPE(raw json.RawMessage) (*bpe, error) {
	var m struct {
		Dropout       *float64          `json:"dropout"`
		UnkToken      *string           `json:"unk_token"`
		ContinuingPfx *string           `json:"continuing_subword_prefix"`
		EndOfWordSfx  *string           `json:"end_of_word_suffix"`
		FuseUnk       bool              `json:"fuse_unk"`
		ByteFallback  bool              `json:"byte_fallback"`
		IgnoreMerges  bool              `json:"ignore_merges"`
		Vocab         map[string]int32  `json:"vocab"`
		Merges        []json.RawMessage `json:"merges"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	switch {
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, fmt.Errorf("dropout is not supported")
	case m.ContinuingPfx != nil && *m.ContinuingPfx != "", m.EndOfWordSfx != nil && *m.EndOfWordSfx != "":
		return nil, fmt.Errorf("continuing_subword_prefix/end_of_word_suffix are not supported")
	case m.IgnoreMerges:
		return nil, fmt.Errorf("ignore_merges is not supported")
	case len(m.Vocab) == 0:
		return nil, fmt.Errorf("empty vocab")
	}
	b := &bpe{vocab: m.Vocab, merges: make(map[[2]int32]merge, len(m.Merges)), unk: -1,
		fuseUnk: m.FuseUnk, byteFallback: m.ByteFallback, cache: map[string][]int32{}}
	for tok, id := range m.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("token %q has negative id %d", tok, id)
		}
		b.top = max(b.top, int(id))
	}
	for i := range b.byteIDs {
		b.byteIDs[i] = -1
		if id, ok := m.Vocab[fmt.Sprintf("<0x%02X>", i)]; ok {
			b.byteIDs[i] = id
		}
	}
	b.cutAtMark = cutsAtMark(m.Vocab)
	if m.UnkToken != nil {
		id, ok := m.Vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("unk_token %q is not in the vocab", *m.UnkToken)
		}
		b.unk = id
	}
	for rank, r := range m.Merges {
		pair, err := parseMerge(r)
		if err != nil {
			return nil, fmt.Errorf("merge %d: %w", rank, err)
		}
		var ids [3]int32
		for i, tok := range []string{pair[0], pair[1], pair[0] + pair[1]} {
			id, ok := m.Vocab[tok]
			if !ok {
				return nil, fmt.Errorf("merge %d (%q %q): %q is not in the vocab", rank, pair[0], pair[1], tok)
			}
			ids[i] = id
		}
		// A repeated pair takes its last rank, as the library's map does.
		b.merges[[2]int32{ids[0], ids[1]}] = merge{rank: rank, id: ids[2]}
	}
	return b, nil
}

// parseMerge reads a merge as "a b" (older files) or ["a", "b"].
func parseMerge(r json.RawMessage) ([2]string, error) {
	var s string
	if err := json.Unmarshal(r, &s); err == nil {
		a, b, ok := strings.Cut(s, " ")
		if !ok || a == "" || b == "" {
			return [2]string{}, fmt.Errorf("%q is not \"a b\"", s)
		}
		return [2]string{a, b}, nil
	}
	var p []string
	if err := json.Unmarshal(r, &p); err != nil || len(p) != 2 {
		return [2]string{}, fmt.Errorf("%s is neither \"a b\" nor a pair", string(r))
	}
	return [2]string{p[0], p[1]}, nil
}

func (b *bpe) maxID() int { return b.top }

// spaceMark is SentencePiece's visible space, U+2581.
const spaceMark = "\u2581"

// cutsAtMark reports whether the vocab has ▁ and no token in which ▁
// follows another character (byte and unknown tokens included). Then no
// merge can join a symbol to a ▁ on its right, and a piece's ids are those
// of its parts cut before each such ▁: what lets a SentencePiece-style
// tokenizer without a pre-tokenizer split (Gemma's: the whole text is one
// piece) encode a long text in parts, in bounded memory and through the
// cache.
func cutsAtMark(vocab map[string]int32) bool {
	if _, ok := vocab[spaceMark]; !ok {
		return false
	}
	for tok := range vocab {
		if strings.Contains(strings.TrimLeft(tok, spaceMark), spaceMark) {
			return false
		}
	}
	return true
}

// appendIDs appends the ids of piece, cut before each ▁ that follows
// another character when the vocab allows it (cutsAtMark).
func (b *bpe) appendIDs(dst []int32, piece string) []int32 {
	if !b.cutAtMark || len(piece) <= 64 {
		return b.appendPiece(dst, piece)
	}
	start := 0
	for i := 1; i < len(piece); {
		j := strings.Index(piece[i:], spaceMark)
		if j < 0 {
			break
		}
		at := i + j
		if !strings.HasSuffix(piece[:at], spaceMark) {
			dst = b.appendPiece(dst, piece[start:at])
			start = at
		}
		i = at + len(spaceMark)
	}
	return b.appendPiece(dst, piece[start:])
}

func (b *bpe) appendPiece(dst []int32, piece string) []int32 {
	b.mu.RLock()
	ids, ok := b.cache[piece]
	b.mu.RUnlock()
	if ok {
		return append(dst, ids...)
	}
	start := len(dst)
	dst = b.encode(dst, piece)
	if len(piece) <= 64 {
		ids = append([]int32(nil), dst[start:]...)
		b.mu.Lock()
		if len(b.cache) >= bpeCacheSize {
			clear(b.cache)
		}
		b.cache[piece] = ids
		b.mu.Unlock()
	}
	return dst
}

// symbols returns the ids piece starts as, before any merge.
func (b *bpe) symbols(piece string) []int32 {
	ids := make([]int32, 0, len(piece))
	pendingUnk := false
	for i, r := range piece {
		s := piece[i : i+utf8.RuneLen(r)]
		if id, ok := b.vocab[s]; ok {
			if pendingUnk {
				ids, pendingUnk = append(ids, b.unk), false
			}
			ids = append(ids, id)
			continue
		}
		if b.byteFallback && b.hasBytes(s) {
			// Like the library, byte tokens go out before a pending unknown
			// token: that one waits for the next known character.
			for j := 0; j < len(s); j++ {
				ids = append(ids, b.byteIDs[s[j]])
			}
			continue
		}
		if b.unk < 0 {
			continue
		}
		if pendingUnk && !b.fuseUnk {
			ids = append(ids, b.unk)
		}
		pendingUnk = true
	}
	if pendingUnk {
		ids = append(ids, b.unk)
	}
	return ids
}

func (b *bpe) hasBytes(s string) bool {
	for j := 0; j < len(s); j++ {
		if b.byteIDs[s[j]] < 0 {
			return false
		}
	}
	return true
}

// encode applies the merges lowest rank first, leftmost first among equal
// ranks, until none applies. Symbols form a linked list and candidate pairs
// sit in a heap, so a long piece costs O(n log n), not the O(n²) of
// rescanning after every merge.
func (b *bpe) encode(dst []int32, piece string) []int32 {
	type sym struct {
		id         int32
		prev, next int
		gone       bool
	}
	ids := b.symbols(piece)
	if len(ids) == 0 {
		return dst
	}
	syms := make([]sym, len(ids))
	for i, id := range ids {
		syms[i] = sym{id: id, prev: i - 1, next: i + 1}
	}
	syms[len(syms)-1].next = -1
	h := make(pairHeap, 0, len(syms))
	push := func(l int) {
		if l < 0 || syms[l].next < 0 {
			return
		}
		if m, ok := b.merges[[2]int32{syms[l].id, syms[syms[l].next].id}]; ok {
			h.push(pair{rank: m.rank, left: l, id: m.id})
		}
	}
	for i := range syms {
		push(i)
	}
	for len(h) > 0 {
		p := h.pop()
		l := &syms[p.left]
		if l.gone || l.next < 0 {
			continue
		}
		// Stale when the pair here no longer merges into p's token (the
		// library's own test).
		r := &syms[l.next]
		if m, ok := b.merges[[2]int32{l.id, r.id}]; !ok || m.id != p.id {
			continue
		}
		l.id, l.next = p.id, r.next
		if r.next >= 0 {
			syms[r.next].prev = p.left
		}
		r.gone = true
		push(l.prev)
		push(p.left)
	}
	for i := 0; i >= 0; i = syms[i].next {
		dst = append(dst, syms[i].id)
	}
	return dst
}

type pair struct {
	rank, left int
	id         int32
}

// pairHeap is a binary min-heap of candidate merges by rank, then
// position; typed, so that a push does not allocate as container/heap's
// interface does.
type pairHeap []pair

func (p pair) less(q pair) bool {
	if p.rank != q.rank {
		return p.rank < q.rank
	}
	return p.left < q.left
}

func (h *pairHeap) push(p pair) {
	*h = append(*h, p)
	a := *h
	for i := len(a) - 1; i > 0; {
		parent := (i - 1) / 2
		if !a[i].less(a[parent]) {
			break
		}
		a[i], a[parent] = a[parent], a[i]
		i = parent
	}
}

func (h *pairHeap) pop() pair {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, r, least := 2*i+1, 2*i+2, i
		if l < n && a[l].less(a[least]) {
			least = l
		}
		if r < n && a[r].less(a[least]) {
			least = r
		}
		if least == i {
			break
		}
		a[i], a[least] = a[least], a[i]
		i = least
	}
	*h = a
	return top
}
