package main

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// confusion counts (gold, predicted) pairs over a label set.
type confusion struct {
	labels []string
	index  map[string]int
	m      [][]int // m[gold][pred]
	n      int
}

func newConfusion(labels []string) *confusion {
	c := &confusion{labels: labels, index: map[string]int{}, m: make([][]int, len(labels))}
	for i, l := range labels {
		c.index[l] = i
		c.m[i] = make([]int, len(labels))
	}
	return c
}

// add records one prediction; both labels must be in the label set.
func (c *confusion) add(gold, pred string) {
	c.m[c.index[gold]][c.index[pred]]++
	c.n++
}

func (c *confusion) accuracy() float64 {
	if c.n == 0 {
		return 0
	}
	ok := 0
	for i := range c.m {
		ok += c.m[i][i]
	}
	return float64(ok) / float64(c.n)
}

type classScore struct {
	label                 string
	precision, recall, f1 float64
	support               int
}

// perClass returns precision, recall and F1 of each label.
func (c *confusion) perClass() []classScore {
	out := make([]classScore, len(c.labels))
	for i, l := range c.labels {
		tp, gold, pred := c.m[i][i], 0, 0
		for j := range c.labels {
			gold += c.m[i][j]
			pred += c.m[j][i]
		}
		s := classScore{label: l, support: gold}
		if pred > 0 {
			s.precision = float64(tp) / float64(pred)
		}
		if gold > 0 {
			s.recall = float64(tp) / float64(gold)
		}
		if s.precision+s.recall > 0 {
			s.f1 = 2 * s.precision * s.recall / (s.precision + s.recall)
		}
		out[i] = s
	}
	return out
}

// macroF1 averages F1 over the labels that occur in the gold data.
func (c *confusion) macroF1() float64 {
	var sum float64
	n := 0
	for _, s := range c.perClass() {
		if s.support > 0 {
			sum += s.f1
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

type confusionPair struct {
	gold, pred string
	count      int
}

// top returns the k most frequent confusions (gold != pred).
func (c *confusion) top(k int) []confusionPair {
	var ps []confusionPair
	for i := range c.m {
		for j, n := range c.m[i] {
			if i != j && n > 0 {
				ps = append(ps, confusionPair{c.labels[i], c.labels[j], n})
			}
		}
	}
	sort.SliceStable(ps, func(a, b int) bool { return ps[a].count > ps[b].count })
	return ps[:min(k, len(ps))]
}

func (c *confusion) write(w io.Writer) {
	fmt.Fprintf(w, "rows:     %d\naccuracy: %.4f\nmacro-F1: %.4f\n\n", c.n, c.accuracy(), c.macroF1())
	fmt.Fprintf(w, "%-18s %9s %9s %9s %8s\n", "label", "precision", "recall", "f1", "support")
	for _, s := range c.perClass() {
		fmt.Fprintf(w, "%-18s %9.4f %9.4f %9.4f %8d\n", s.label, s.precision, s.recall, s.f1, s.support)
	}
	if top := c.top(10); len(top) > 0 {
		fmt.Fprintf(w, "\ntop confusions (gold -> predicted):\n")
		for _, p := range top {
			fmt.Fprintf(w, "  %4d  %s -> %s\n", p.count, p.gold, p.pred)
		}
	}
}

// percentile returns the p-th percentile (0..100) of sorted durations,
// nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
