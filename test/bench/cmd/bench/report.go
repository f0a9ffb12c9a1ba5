package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/semantic-epp/semantic-epp/test/bench"
)

const (
	docStart = "<!-- system-bench:start (written by make bench) -->"
	docEnd   = "<!-- system-bench:end -->"
)

func (r *runner) write(outDir, doc string, abs func(string) string) error {
	if err := r.writeCSVs(outDir); err != nil {
		return err
	}
	sum := r.summary()
	if err := bench.WriteJSON(filepath.Join(outDir, "summary.json"), sum); err != nil {
		return err
	}
	for _, d := range sum.AutoMinusExplicit {
		fmt.Printf("%s, %d tokens: auto (cache miss) − explicit p50 %.3f ms (means %.3f ms; classifier inside the EPP %.3f ms)\n",
			d.Config, d.Tokens, d.P50, d.Mean, d.ClassifierMean)
	}
	var pts []bench.SweepPoint
	for _, p := range r.sweep {
		pts = append(pts, bench.SweepPoint{Config: p.cfg, Rate: p.rate, P50: bench.Ms(p.p50), P99: bench.Ms(p.p99)})
	}
	if len(pts) > 0 {
		if err := bench.PlotSweep(pts, filepath.Join(outDir, "latency-vs-load.png")); err != nil {
			return err
		}
	}
	if !r.o.full() {
		// A subset has no document section: the comparisons need every
		// configuration.
		if err := os.WriteFile(filepath.Join(outDir, "summary.md"), []byte(r.subsetMarkdown()), 0o644); err != nil {
			return fmt.Errorf("writing summary: %w", err)
		}
		fmt.Printf("raw results in %s\n", outDir)
		return nil
	}
	rel, err := filepath.Rel(filepath.Dir(abs(doc)), outDir)
	if err != nil {
		rel = outDir
	}
	section := r.markdown(rel)
	if err := os.WriteFile(filepath.Join(outDir, "summary.md"), []byte(section), 0o644); err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	fmt.Printf("raw results and plot in %s\n", outDir)
	if doc == "" {
		return nil
	}
	return bench.ReplaceSection(abs(doc), docStart, docEnd, section)
}

func (r *runner) writeCSVs(dir string) error {
	lat := [][]string{{"config", "tokens", "kind", "extproc_ms", "first_hop_ms", "client_total_ms"}}
	for _, c := range r.sortedCells() {
		for i := range c.extProc {
			lat = append(lat, []string{c.cfg, strconv.Itoa(c.size), c.kind, f3(bench.Ms(c.extProc[i])), f3(bench.Ms(c.firstHop[i])), f3(bench.Ms(c.total[i]))})
		}
	}
	rounds := [][]string{{"config", "tokens", "kind", "round", "p50_ms"}}
	for _, c := range r.sortedCells() {
		for i, v := range c.roundP50 {
			rounds = append(rounds, []string{c.cfg, strconv.Itoa(c.size), c.kind, strconv.Itoa(i), f3(v)})
		}
	}
	sw := [][]string{{"config", "offered_rps", "achieved_rps", "p50_ms", "p99_ms", "requests", "errors", "skipped", "cpu_s"}}
	for _, p := range r.sweep {
		sw = append(sw, []string{p.cfg, f3(p.rate), f3(p.achieved), f3(bench.Ms(p.p50)), f3(bench.Ms(p.p99)), strconv.Itoa(p.n), strconv.Itoa(p.errors), strconv.Itoa(p.skipped), f3(p.cpu)})
	}
	soak := [][]string{{"seconds", "process", "rss_bytes"}}
	for _, s := range r.soak {
		for _, name := range sortedKeys(s.rss) {
			soak = append(soak, []string{f3(s.at.Seconds()), name, strconv.FormatInt(s.rss[name], 10)})
		}
	}
	for name, rows := range map[string][][]string{"latency.csv": lat, "rounds.csv": rounds, "sweep.csv": sw, "soak-rss.csv": soak} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		w := csv.NewWriter(f)
		_ = w.WriteAll(rows)
		if err := f.Close(); err != nil || w.Error() != nil {
			return fmt.Errorf("writing %s: %w", name, errors.Join(w.Error(), err))
		}
	}
	return nil
}

func (r *runner) sortedCells() []*cell {
	var out []*cell
	for _, c := range r.cells {
		out = append(out, c)
	}
	order := map[string]int{}
	for i, c := range bench.KnownConfigs {
		order[c] = i
	}
	kord := map[string]int{}
	for i, k := range kinds {
		kord[k] = i
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.size != b.size {
			return a.size < b.size
		}
		if a.kind != b.kind {
			return kord[a.kind] < kord[b.kind]
		}
		return order[a.cfg] < order[b.cfg]
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// pairedRatio is the median over rounds of a's round p50 over b's.
func (r *runner) pairedRatio(a, b string, size int, kind string) float64 {
	ca, cb := r.cells[cellKey(a, size, kind)], r.cells[cellKey(b, size, kind)]
	var rs []float64
	for i := range ca.roundP50 {
		if i < len(cb.roundP50) && cb.roundP50[i] > 0 {
			rs = append(rs, ca.roundP50[i]/cb.roundP50[i])
		}
	}
	return bench.Median(rs)
}

func machine() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 1 {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf(", %.0f GiB memory", kb/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%s, %d logical CPUs%s, %s", model, runtime.NumCPU(), mem, runtime.Version())
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func (r *runner) p99DoubleRate(cfg string) string {
	var pts []sweepPoint
	for _, p := range r.sweep {
		if p.cfg == cfg {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return "–"
	}
	base := pts[0].p99
	for _, p := range pts[1:] {
		if p.p99 >= 2*base || p.errors > 0 || p.skipped > 0 {
			return fmt.Sprintf("%.0f req/s (p99 %.2f → %.2f ms)", p.rate, bench.Ms(base), bench.Ms(p.p99))
		}
	}
	return fmt.Sprintf("> %.0f req/s (not reached)", pts[len(pts)-1].rate)
}
