// Command batcherplot draws the exporter's latency benchmark: mean delivery latency against
// offered load on log-log axes, one line per batching mode, next to the figures claimed by
// the document the project grew from and the strict dual trigger's theory.
//
// It reads the results.json that the load benchmark writes (`make bench` runs both), and
// lives in the tools module so that the plotting library stays out of the main module.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"log"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// results is the part of the benchmark's results.json that the plot shows.
type results struct {
	BatchSize      int     `json:"batch_size"`
	FlushIntervalS float64 `json:"flush_interval_s"`
	Claimed        []struct {
		Rate  int     `json:"rate"`
		MeanS float64 `json:"mean_s"`
	} `json:"claimed"`
	Latency []struct {
		Mode struct {
			Name string `json:"name"`
		} `json:"mode"`
		Rate    int     `json:"rate"`
		MeanS   float64 `json:"mean_s"`
		TheoryS float64 `json:"theory_s"`
	} `json:"latency"`
}

// Colour-blind-safe (Okabe-Ito) colours, one per measured mode in the order they appear.
var palette = []color.Color{
	color.RGBA{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff},
	color.RGBA{R: 0x00, G: 0x72, B: 0xb2, A: 0xff},
	color.RGBA{R: 0x00, G: 0x9e, B: 0x73, A: 0xff},
	color.RGBA{R: 0xcc, G: 0x79, B: 0xa7, A: 0xff},
}

func main() {
	in := flag.String("in", "", "results.json written by the load benchmark")
	out := flag.String("out", "", "PNG file to write")
	flag.Parse()
	if *in == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		log.Fatal(err)
	}
}

func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var res results
	if err = json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	p := newPlot(res)
	plotted, err := addLines(p, res)
	if err != nil {
		return err
	}
	// Whole decades, with one to spare at the top for the legend.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xys := range plotted {
		for _, xy := range xys {
			lo, hi = min(lo, xy.Y), max(hi, xy.Y)
		}
	}
	// Just below the lowest decade, so that its tick is labelled.
	p.Y.Min = 0.99 * math.Pow(10, math.Floor(math.Log10(lo)))
	p.Y.Max = math.Pow(10, math.Ceil(math.Log10(hi))+1)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return p.Save(9*vg.Inch, 5.5*vg.Inch, out)
}

// newPlot is the empty plot: title, logarithmic axes, grid and legend.
func newPlot(res results) *plot.Plot {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Mean delivery latency to the RPUSH reply (batch_size %d, flush_interval %gs)", res.BatchSize, res.FlushIntervalS)
	p.X.Label.Text = "offered load (logs/s, one record per call)"
	p.Y.Label.Text = "mean latency (s)"
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Scale = plot.LogScale{}
		ax.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.YOffs = -vg.Points(4)
	return p
}

// addLines draws the strict mode's theory, each mode's measured means and the document's
// claim, and returns the measured and claimed lines.
func addLines(p *plot.Plot, res results) ([]plotter.XYs, error) {
	var theory plotter.XYs
	var modes []string
	lines := map[string]plotter.XYs{}
	for _, r := range res.Latency {
		if _, ok := lines[r.Mode.Name]; !ok {
			modes = append(modes, r.Mode.Name)
		}
		lines[r.Mode.Name] = append(lines[r.Mode.Name], plotter.XY{X: float64(r.Rate), Y: r.MeanS})
		if r.Mode.Name == "strict" {
			theory = append(theory, plotter.XY{X: float64(r.Rate), Y: r.TheoryS})
		}
	}
	if len(theory) > 0 {
		// Drawn wide and pale, so that a measured line on top of it stays visible.
		band, err := plotter.NewLine(theory)
		if err != nil {
			return nil, err
		}
		band.Color = color.Gray{Y: 0xcc}
		band.Width = vg.Points(7)
		p.Add(band)
		p.Legend.Add("strict: theory, min(fill time, interval) / 2", band)
	}
	for i, name := range modes {
		if err := addLine(p, name+": measured", lines[name], palette[i%len(palette)], nil, draw.CircleGlyph{}); err != nil {
			return nil, err
		}
	}
	// On top, dashed, so that where a measured line matches it both stay visible.
	claimed := make(plotter.XYs, 0, len(res.Claimed))
	for _, c := range res.Claimed {
		claimed = append(claimed, plotter.XY{X: float64(c.Rate), Y: c.MeanS})
	}
	if err := addLine(p, "document's claim (Python handler)", claimed, color.Black, []vg.Length{vg.Points(6), vg.Points(3)}, draw.TriangleGlyph{}); err != nil {
		return nil, err
	}
	return append([]plotter.XYs{claimed}, slices.Collect(maps.Values(lines))...), nil
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashes []vg.Length, glyph draw.GlyphDrawer) error {
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	line.Color = c
	line.Width = vg.Points(1.5)
	line.Dashes = dashes
	p.Add(line)
	if glyph == nil {
		p.Legend.Add(name, line)
		return nil
	}
	points, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	points.Color = c
	points.Shape = glyph
	points.Radius = vg.Points(3)
	p.Add(points)
	p.Legend.Add(name, line, points)
	return nil
}
