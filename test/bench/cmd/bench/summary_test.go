package main

import (
	"strings"
	"testing"
	"time"

	"github.com/semantic-epp/semantic-epp/test/bench"
)

// TestSummaryAutoMinusExplicit: a run of a subset reports, per selector
// configuration, auto-miss minus explicit (p50s and means) with the
// classifier's time inside the EPP, and its summary.md says so; the plain
// EPP, which never classifies, has no such figure.
func TestSummaryAutoMinusExplicit(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x * float64(time.Millisecond))
		}
		return out
	}
	o := options{sizes: []int{128}, configs: []string{bench.Plain, bench.OneHop, bench.OneHopCPU}, rounds: 1, batch: 3,
		selectorConfig: "deploy/components/gpu/semantic-epp.yaml", cpuConfig: "config/semantic-epp.yaml"}
	r := &runner{o: o, sys: &system{network: "loopback"}, cells: map[string]*cell{}}
	add := func(cfg, kind string, clf time.Duration, v ...float64) {
		r.cells[cellKey(cfg, 128, kind)] = &cell{cfg: cfg, size: 128, kind: kind, extProc: ms(v...), n: len(v), clfMean: clf}
	}
	for _, cfg := range o.configs {
		add(cfg, kindExplicit, 0, 1.0, 1.2, 1.1)
		add(cfg, kindHit, 0, 1.0, 1.0, 1.0)
	}
	add(bench.Plain, kindMiss, 0, 1.0, 1.1, 1.2)
	add(bench.OneHop, kindMiss, 250*time.Microsecond, 1.4, 1.5, 1.6)
	add(bench.OneHopCPU, kindMiss, 5*time.Millisecond, 6.1, 6.0, 6.5)
	s := r.summary()
	if len(s.Cells) != 9 || s.CPUSelectorConfig != o.cpuConfig || s.Network != "loopback" {
		t.Fatalf("summary %+v", s)
	}
	want := []autoDelta{
		{Config: bench.OneHop, Tokens: 128, P50: 0.4, Mean: 0.4, ClassifierMean: 0.25},
		{Config: bench.OneHopCPU, Tokens: 128, P50: 5.0, Mean: 5.1, ClassifierMean: 5},
	}
	if len(s.AutoMinusExplicit) != len(want) {
		t.Fatalf("auto minus explicit %+v, want %+v", s.AutoMinusExplicit, want)
	}
	for i, w := range want {
		if got := s.AutoMinusExplicit[i]; got != w {
			t.Errorf("auto minus explicit[%d] = %+v, want %+v", i, got, w)
		}
	}
	md := r.subsetMarkdown()
	for _, line := range []string{"| 128 | one-hop | 0.400 | 0.400 | 0.250 |", "| 128 | auto-miss | 1.10 / 1.20 | 1.50 / 1.60 | 6.10 / 6.50 | 0 of 9 |"} {
		if !strings.Contains(md, line) {
			t.Errorf("summary.md lacks %q:\n%s", line, md)
		}
	}
}
