package soak

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot draws, against minutes of soak, the EPP's RSS, its goroutine count
// and the gateway's throughput and p99 latency per window, as three
// stacked panels in one PNG. warm marks the end of the warm-up.
func Plot(samples []Sample, windows []Window, warmMin float64, path string) error {
	if len(samples) == 0 || len(windows) == 0 {
		return fmt.Errorf("plot: nothing to draw")
	}
	rss, gor := make(plotter.XYs, len(samples)), make(plotter.XYs, len(samples))
	for i, s := range samples {
		m := s.At.Minutes()
		rss[i] = plotter.XY{X: m, Y: float64(s.RSSBytes) / (1 << 20)}
		gor[i] = plotter.XY{X: m, Y: s.Goroutines}
	}
	thr, p99 := make(plotter.XYs, len(windows)), make(plotter.XYs, len(windows))
	for i, w := range windows {
		m := w.End.Minutes()
		thr[i] = plotter.XY{X: m, Y: w.Throughput()}
		p99[i] = plotter.XY{X: m, Y: float64(w.P99.Microseconds()) / 1000}
	}
	blue := color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	red := color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	panel := func(title, ylabel string, series ...struct {
		xy    plotter.XYs
		name  string
		color color.Color
	}) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "minutes"
		p.Y.Label.Text = ylabel
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
		for _, s := range series {
			l, err := plotter.NewLine(s.xy)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", title, err)
			}
			l.Color = s.color
			p.Add(l)
			if s.name != "" {
				p.Legend.Add(s.name, l)
			}
		}
		if warmMin > 0 {
			v, err := plotter.NewLine(plotter.XYs{{X: warmMin, Y: 0}, {X: warmMin, Y: p.Y.Max}})
			if err == nil {
				v.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
				v.Color = color.Gray{Y: 0x80}
				p.Add(v)
				p.Legend.Add("end of warm-up", v)
			}
		}
		p.Legend.Top = true
		p.Legend.Left = true
		return p, nil
	}
	type s = struct {
		xy    plotter.XYs
		name  string
		color color.Color
	}
	pr, err := panel("EPP resident memory (VmRSS)", "MiB", s{rss, "", blue})
	if err != nil {
		return err
	}
	pg, err := panel("EPP goroutines (go_goroutines)", "goroutines", s{gor, "", blue})
	if err != nil {
		return err
	}
	pt, err := panel("Gateway: finished requests/s and p99 latency per window", "req/s, ms", s{thr, "requests/s", blue}, s{p99, "p99 ms", red})
	if err != nil {
		return err
	}
	const w, h = 8 * vg.Inch, 9 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadX: vg.Points(4), PadY: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{{pr}, {pg}, {pt}}, tiles, dc)
	pr.Draw(canvases[0][0])
	pg.Draw(canvases[1][0])
	pt.Draw(canvases[2][0])
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
