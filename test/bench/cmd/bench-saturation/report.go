package main

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/semantic-epp/semantic-epp/test/bench"
)

const (
	docStart = "<!-- saturation-bench:start (written by make bench-saturation) -->"
	docEnd   = "<!-- saturation-bench:end -->"
)

// summary is summary.json: the headline figures of issue 11.
type summary struct {
	GoodputRatio   *float64          `json:"goodput_ratio_load_aware_vs_blind"`
	MovedBelow     *float64          `json:"moved_share_below_saturation"`
	Errors         *int              `json:"errors"`
	SaturationRate *float64          `json:"saturation_rate_rps"` // the load the ratio is taken at
	SLOms          float64           `json:"ttft_slo_ms"`
	Skipped        map[string]string `json:"skipped,omitempty"`
	Started        string            `json:"started"`
}

// saturated reports whether the capacity-blind selector's preferred pool
// is saturated at rate: its goodput falls below 90 % of the offered load.
func (r *runner) saturated(rate float64) bool {
	c := r.cell(Blind, rate)
	return c != nil && c.Goodput < 0.9*rate
}

func (r *runner) summary() summary {
	s := summary{SLOms: bench.Ms(r.o.slo), Skipped: r.sys.skipped, Started: r.started.Format("2006-01-02T15:04:05Z")}
	if _, ok := r.sys.urls[LoadAware]; !ok {
		return s
	}
	errs, moved, completed := 0, 0.0, 0
	for _, rate := range r.o.rates {
		a := r.cell(LoadAware, rate)
		if a == nil {
			continue
		}
		errs += a.Errors
		if r.saturated(rate) {
			if b := r.cell(Blind, rate); b.Goodput > 0 {
				ratio, rt := a.Goodput/b.Goodput, rate
				s.GoodputRatio, s.SaturationRate = &ratio, &rt
			}
		} else {
			moved += a.Moved * float64(a.Completed)
			completed += a.Completed
		}
	}
	s.Errors = &errs
	if completed > 0 {
		m := moved / float64(completed)
		s.MovedBelow = &m
	}
	return s
}

func (r *runner) write(outDir, doc string, abs func(string) string) error {
	sum := r.summary()
	if err := bench.WriteJSON(filepath.Join(outDir, "summary.json"), sum); err != nil {
		return err
	}
	if err := bench.WriteJSON(filepath.Join(outDir, "raw.json"), map[string]any{"options": r.optionsMap(), "cells": r.sortedCells()}); err != nil {
		return err
	}
	if err := r.writeCSV(filepath.Join(outDir, "results.csv")); err != nil {
		return err
	}
	if err := r.plot(filepath.Join(outDir, "saturation.png")); err != nil {
		return err
	}
	section := r.markdown(sum)
	if err := os.WriteFile(filepath.Join(outDir, "report.md"), []byte("# Saturation benchmark (issue 11)\n\n"+section), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Printf("results in %s\n", outDir)
	if doc == "" {
		return nil
	}
	rel, err := filepath.Rel(filepath.Dir(abs(doc)), outDir)
	if err != nil {
		return fmt.Errorf("results path: %w", err)
	}
	return bench.ReplaceSection(abs(doc), docStart, docEnd, "## Saturation benchmark: load-aware model selection (issue 11)\n\n"+
		fmt.Sprintf("Written by `make bench-saturation` (run %s): one slow phi4-mini pod, two llama3-8b pods, %.0f %% of the streaming `auto` requests prefer phi4-mini, loads %v req/s, TTFT SLO %s. "+
			"Configurations, per-load table (goodput, TTFT p50/p99, errors, moved share) and raw data: [%s/report.md](%s/report.md).\n\n",
			sum.Started, 100*r.o.mathShare, r.o.rates, r.o.slo, rel, rel)+
		headline(sum)+"\n![goodput and TTFT against offered load]("+rel+"/saturation.png)\n\n")
}

func (r *runner) optionsMap() map[string]any {
	return map[string]any{
		"rates": r.o.rates, "step_s": r.o.step.Seconds(), "ttft_slo_ms": bench.Ms(r.o.slo), "math_share": r.o.mathShare,
		"max_tokens": r.o.maxTokens, "sim_args": r.o.commonArgs, "phi4_mini_args": r.o.slowArgs, "phi4_mini_replicas": r.o.slowReplicas,
		"llama3_8b_args": r.o.fastArgs, "llama3_8b_replicas": r.o.fastReps, "blind_config": r.o.blindConfig, "epp": r.o.epp, "note": r.o.note, "load_aware_config": r.o.awareConfig,
	}
}

func (r *runner) markdown(sum summary) string {
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("Run %s, EPP binary `%s`. %s Sandbox: %d phi4-mini pod (`%s %s`), %d llama3-8b pods (`%s %s`); streaming `auto` completions, `max_tokens` %d, ",
		sum.Started, r.o.epp, r.o.note, r.o.slowReplicas, r.o.commonArgs, r.o.slowArgs, r.o.fastReps, r.o.commonArgs, r.o.fastArgs, r.o.maxTokens)
	w("%.0f %% of them prompts whose first choice (calibrated one by one on the idle pool through the capacity-blind selector) is phi4-mini, the rest llama3-8b; ", 100*r.o.mathShare)
	w("open-loop load, %s per configuration and load, configurations alternating within each load. ", r.o.step)
	w("TTFT = request sent until the first SSE chunk; goodput = completed requests with TTFT ≤ %s per second; moved = completed requests served by a model other than their first choice.\n\n", r.o.slo)
	w("- **%s**: `%s` (math ranks phi4-mini then llama3-8b; no model filters or scorers: always the first)\n", Blind, r.o.blindConfig)
	w("- **%s**: `%s` (saturated-model-filter, rank and load model scorers)\n", LoadAware, r.o.awareConfig)
	w("- **%s**: `bin/semantic-router` with `%s` as first hop, then the plain EPP (`test/bench/config/plain.yaml`)\n\n", TwoHop, r.o.blindConfig)
	w("| load (req/s) | configuration | sent | goodput (req/s) | TTFT p50 (ms) | TTFT p99 (ms) | errors | moved | served by phi4-mini |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.sortedCells() {
		w("| %g | %s | %d | %.2f | %.0f | %.0f | %d | %.1f %% | %.1f %% |\n", c.Rate, c.Config, c.Sent, c.Goodput, c.P50ms, c.P99ms, c.Errors, 100*c.Moved, 100*c.Scarce)
	}
	w("\n![goodput and TTFT against offered load](saturation.png)\n\n")
	w("%s", headline(sum))
	return b.String()
}

// headline is the summary.json figures in a sentence.
func headline(sum summary) string {
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	for cfg, why := range sum.Skipped {
		w("**%s was not run**: %s. ", cfg, why)
	}
	w("Headline (`summary.json`): ")
	if sum.GoodputRatio != nil {
		w("goodput load-aware / blind at %g req/s (the highest load where the blind selector's goodput is below 90 %% of the offered load) **%.2f**; ", *sum.SaturationRate, *sum.GoodputRatio)
	} else {
		w("goodput ratio not available (no load-aware run, or the blind selector never saturated); ")
	}
	if sum.MovedBelow != nil {
		w("moved share below saturation **%.2f %%**; ", 100**sum.MovedBelow)
	}
	if sum.Errors != nil {
		w("load-aware errors **%d**.\n", *sum.Errors)
	} else {
		w("no load-aware errors counted (not run).\n")
	}
	return b.String()
}

func (r *runner) writeCSV(path string) error {
	rows := [][]string{{"config", "rate", "start_ms", "status", "ttft_ms", "total_ms", "model", "first_choice", "error"}}
	for _, c := range r.sortedCells() {
		for _, x := range c.Results {
			rows = append(rows, []string{c.Config, strconv.FormatFloat(c.Rate, 'g', -1, 64), f1(bench.Ms(x.Start)), strconv.Itoa(x.Status),
				f1(bench.Ms(x.TTFT)), f1(bench.Ms(x.Total)), x.Model, r.firstChoice[x.Prompt], x.Err})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		_ = f.Close()
		return fmt.Errorf("csv: %w", err)
	}
	return f.Close()
}

var palette = map[string]color.RGBA{
	Blind:     {R: 0x33, G: 0x33, B: 0x33, A: 0xff},
	LoadAware: {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	TwoHop:    {R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

// plot draws goodput (left) and TTFT p50/p99 (right) against offered load.
func (r *runner) plot(path string) error {
	good, ttft := plot.New(), plot.New()
	good.Title.Text, ttft.Title.Text = fmt.Sprintf("Goodput (TTFT ≤ %s)", r.o.slo), "TTFT (solid p50, dashed p99)"
	good.X.Label.Text, ttft.X.Label.Text = "offered load (requests/s)", "offered load (requests/s)"
	good.Y.Label.Text, ttft.Y.Label.Text = "requests/s", "ms"
	ttft.Y.Scale, ttft.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	good.Legend.Top, good.Legend.Left = true, true
	for _, cfg := range configs {
		var g, p50, p99 plotter.XYs
		for _, c := range r.sortedCells() {
			if c.Config != cfg {
				continue
			}
			g = append(g, plotter.XY{X: c.Rate, Y: c.Goodput})
			if c.P50ms > 0 {
				p50 = append(p50, plotter.XY{X: c.Rate, Y: c.P50ms})
				p99 = append(p99, plotter.XY{X: c.Rate, Y: c.P99ms})
			}
		}
		if len(g) == 0 {
			continue
		}
		for _, s := range []struct {
			p      *plot.Plot
			xy     plotter.XYs
			dashed bool
		}{{good, g, false}, {ttft, p50, false}, {ttft, p99, true}} {
			if len(s.xy) == 0 {
				continue
			}
			l, pts, err := plotter.NewLinePoints(s.xy)
			if err != nil {
				return fmt.Errorf("plot %s: %w", cfg, err)
			}
			l.Color, pts.Color, pts.Shape = palette[cfg], palette[cfg], draw.CircleGlyph{}
			if s.dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			if s.p == good {
				good.Legend.Add(cfg, l, pts)
			}
			s.p.Add(l, pts)
		}
	}
	good.Add(plotter.NewGrid())
	ttft.Add(plotter.NewGrid())
	img := vgimgCanvas(11*vg.Inch, 4.2*vg.Inch)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{good, ttft}}, tiles, draw.New(img))
	good.Draw(canvases[0][0])
	ttft.Draw(canvases[0][1])
	return savePNG(img, path)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
