package tokenizer

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// bpe is a byte-pair-encoding model as byte-level tokenizers (GPT-2,
// RoBERTa) use it: the pre-tokenizer has already mapped bytes to runes.
type bpe struct {
	vocab  map[string]int32
	merges map[[2]string]merge
	unk    int32 // -1: unknown symbols are dropped, as the library does
	top    int

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
	case m.ByteFallback, m.IgnoreMerges:
		return nil, fmt.Errorf("byte_fallback/ignore_merges are not supported")
	case len(m.Vocab) == 0:
		return nil, fmt.Errorf("empty vocab")
	}
	b := &bpe{vocab: m.Vocab, merges: make(map[[2]string]merge, len(m.Merges)), unk: -1, cache: map[string][]int32{}}
	for tok, id := range m.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("token %q has negative id %d", tok, id)
		}
		b.top = max(b.top, int(id))
	}
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
		id, ok := m.Vocab[pair[0]+pair[1]]
		if !ok {
			return nil, fmt.Errorf("merge %d (%q %q): result is not in the vocab", rank, pair[0], pair[1])
		}
		if _, dup := b.merges[pair]; !dup {
			b.merges[pair] = merge{rank: rank, id: id}
		}
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

func (b *bpe) appendIDs(dst []int32, piece string) []int32 {
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

// encode applies the merges lowest rank first, leftmost first among equal
// ranks, until none applies. Symbols form a linked list over byte ranges of
// piece and candidate pairs sit in a heap, so a long piece costs
// O(n log n), not the O(n²) of rescanning after every merge.
func (b *bpe) encode(dst []int32, piece string) []int32 {
	type sym struct{ start, end, prev, next int }
	syms := make([]sym, 0, len(piece))
	for i, r := range piece {
		n := len(syms)
		syms = append(syms, sym{start: i, end: i + utf8.RuneLen(r), prev: n - 1, next: n + 1})
	}
	if len(syms) == 0 {
		return dst
	}
	syms[len(syms)-1].next = -1
	h := &pairHeap{}
	push := func(l int) {
		if l < 0 || syms[l].next < 0 {
			return
		}
		r := syms[l].next
		if m, ok := b.merges[[2]string{piece[syms[l].start:syms[l].end], piece[syms[r].start:syms[r].end]}]; ok {
			heap.Push(h, pair{rank: m.rank, left: l, right: r, leftEnd: syms[l].end, rightEnd: syms[r].end})
		}
	}
	for i := range syms {
		push(i)
	}
	for h.Len() > 0 {
		p := heap.Pop(h).(pair)
		l, r := &syms[p.left], &syms[p.right]
		if l.start < 0 || r.start < 0 || l.end != p.leftEnd || r.end != p.rightEnd || l.next != p.right {
			continue // stale: one side was merged since
		}
		l.end, l.next = r.end, r.next
		if r.next >= 0 {
			syms[r.next].prev = p.left
		}
		r.start = -1
		push(l.prev)
		push(p.left)
	}
	for i := 0; i >= 0; i = syms[i].next {
		if id, ok := b.vocab[piece[syms[i].start:syms[i].end]]; ok {
			dst = append(dst, id)
		} else if b.unk >= 0 {
			dst = append(dst, b.unk)
		}
	}
	return dst
}

type pair struct{ rank, left, right, leftEnd, rightEnd int }

// pairHeap orders candidate merges by rank, then position.
type pairHeap []pair

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].left < h[j].left
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pair)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
