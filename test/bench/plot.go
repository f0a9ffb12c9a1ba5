package bench

import (
	"fmt"
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// SweepPoint is one configuration at one offered load.
type SweepPoint struct {
	Config   string
	Rate     float64 // offered requests/s
	P50, P99 float64 // ms of gateway-measured ext_proc time
}

var palette = map[string]color.RGBA{
	Plain:        {R: 0x33, G: 0x33, B: 0x33, A: 0xff},
	OneHop:       {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	OneHopLinear: {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	TwoHop:       {R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	OneHopCPU:    {R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// PlotSweep draws p50 (solid) and p99 (dashed) added latency against
// offered load, one colour per configuration, log-scaled latency, as a PNG.
func PlotSweep(points []SweepPoint, path string) error {
	if len(points) == 0 {
		return fmt.Errorf("plot: no sweep points")
	}
	p := plot.New()
	p.Title.Text = "Added latency (gateway ext_proc time) vs offered load, 128-token prompts"
	p.X.Label.Text = "offered load (requests/s)"
	p.Y.Label.Text = "ms (solid p50, dashed p99)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	by := map[string][]SweepPoint{}
	for _, pt := range points {
		by[pt.Config] = append(by[pt.Config], pt)
	}
	for _, cfg := range KnownConfigs {
		pts := by[cfg]
		if len(pts) == 0 {
			continue
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].Rate < pts[j].Rate })
		for _, q := range []struct {
			val    func(SweepPoint) float64
			dashed bool
		}{{func(s SweepPoint) float64 { return s.P50 }, false}, {func(s SweepPoint) float64 { return s.P99 }, true}} {
			xy := make(plotter.XYs, 0, len(pts))
			for _, pt := range pts {
				if v := q.val(pt); v > 0 {
					xy = append(xy, plotter.XY{X: pt.Rate, Y: v})
				}
			}
			if len(xy) == 0 {
				continue
			}
			l, s, err := plotter.NewLinePoints(xy)
			if err != nil {
				return fmt.Errorf("plot %s: %w", cfg, err)
			}
			l.Color, s.Color = palette[cfg], palette[cfg]
			s.Shape = draw.CircleGlyph{}
			if q.dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			} else {
				p.Legend.Add(cfg, l, s)
			}
			p.Add(l, s)
		}
	}
	p.Add(plotter.NewGrid())
	if err := p.Save(7*vg.Inch, 4.2*vg.Inch, path); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}
