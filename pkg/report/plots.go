package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/present"
)

// palette is Okabe and Ito's colour-blind-safe set, yellow last because it
// is faint on white. A version keeps its colour on every plot and in every
// table of the page.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
}

func versionColor(i int) color.RGBA { return palette[i%len(palette)] }

// versionDashes tells apart versions that share a colour: more versions
// than colours (MaxVersions is 10) get dashed lines.
func versionDashes(i int) []vg.Length {
	if i < len(palette) {
		return nil
	}
	return []vg.Length{vg.Points(6), vg.Points(3)}
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

var (
	plotWidth  = 9 * vg.Inch
	plotHeight = 3.2 * vg.Inch
	limitColor = color.RGBA{0x55, 0x55, 0x55, 0xff}
)

// figure is one plot of the page.
type figure struct {
	Title   string
	SVG     template.HTML
	Caption string
}

// newPlot returns a plot in the page's style: sans-serif text, a light
// grid, no title (the page's heading names the figure).
func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	for _, s := range []*text.Style{&p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label, &p.Title.TextStyle} {
		s.Font.Variant = "Sans"
		s.Font.Size = vg.Points(11)
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.X.Label.Padding, p.Y.Label.Padding = vg.Points(4), vg.Points(4)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xe4}
	grid.Horizontal.Color = color.Gray{Y: 0xe4}
	p.Add(grid)
	return p
}

// svgOf draws p as an SVG element to inline in HTML: the XML prologue goes,
// and the font gets fallbacks. gonum/plot lays text out with Liberation
// Sans's metrics and names only that family; Arial and Helvetica share its
// metrics, so labels keep their place where Liberation is not installed.
func svgOf(p *plot.Plot, label string) (template.HTML, error) {
	c := vgsvg.New(plotWidth, plotHeight)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("draw %s: %w", label, err)
	}
	s := buf.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("draw %s: no <svg> element in the output", label)
	}
	s = s[i:]
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	s = strings.Replace(s, "<svg ", fmt.Sprintf(`<svg class="plot" role="img" aria-label="%s" `, template.HTMLEscapeString(label)), 1)
	return template.HTML(s), nil
}

// densityFigure plots every version's posterior of metric j, with the
// metric's absolute and relative limits as dashed lines.
func densityFigure(spec events.ExperimentSpec, st experiment.State, a *events.Assessed, j int) (figure, error) {
	m := spec.Metrics[j]
	fig := figure{Title: fmt.Sprintf("Posterior of %s", m.Name)}
	type curve struct {
		i int
		d density
	}
	var curves []curve
	var approx, missing []string
	for i, v := range st.Versions {
		if i >= len(st.Data) || j >= len(st.Data[i]) {
			missing = append(missing, v)
			continue
		}
		d, ok := posteriorOf(m, st.Data[i][j], metricAssessment(a, v, m.Name), spec.Confidence)
		if !ok {
			missing = append(missing, v)
			continue
		}
		if d.approx {
			approx = append(approx, v)
		}
		curves = append(curves, curve{i, d})
	}
	if len(curves) == 0 {
		fig.Caption = "No version has data on this metric yet."
		return fig, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		lo, hi = math.Min(lo, c.d.lo), math.Max(hi, c.d.hi)
	}
	var notes []string
	limits := limitsOf(spec, a, st, m.Name)
	span := hi - lo
	for _, l := range limits {
		if l.x >= lo-span/2 && l.x <= hi+span/2 {
			lo, hi = math.Min(lo, l.x), math.Max(hi, l.x)
		} else {
			notes = append(notes, fmt.Sprintf("The limit %s lies beyond the plotted range.", l.text))
		}
	}
	pad := (hi - lo) * 0.04
	if pad == 0 {
		pad = math.Max(math.Abs(lo)*0.01, 1e-9)
	}
	lo, hi = lo-pad, hi+pad
	if m.Type == events.MetricRatio {
		lo, hi = math.Max(lo, 0), math.Min(hi, 1)
	}

	xLabel := m.Name
	if m.Unit != "" {
		xLabel += " (" + m.Unit + ")"
	}
	p := newPlot(xLabel, "density")
	const n = 241
	ymax := 0.0
	for _, c := range curves {
		pts := make(plotter.XYs, n)
		for k := range pts {
			x := lo + (hi-lo)*float64(k)/float64(n-1)
			y := c.d.pdf(x)
			if math.IsNaN(y) || math.IsInf(y, 0) {
				y = 0
			}
			pts[k] = plotter.XY{X: x, Y: y}
			ymax = math.Max(ymax, y)
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fig, fmt.Errorf("metric %s, version %s: %w", m.Name, st.Versions[c.i], err)
		}
		line.Color, line.Width, line.Dashes = versionColor(c.i), vg.Points(1.8), versionDashes(c.i)
		p.Add(line)
	}
	drawn := 0
	for _, l := range limits {
		if l.x < lo || l.x > hi {
			continue
		}
		drawn++
		v, err := plotter.NewLine(plotter.XYs{{X: l.x, Y: 0}, {X: l.x, Y: ymax * 1.05}})
		if err != nil {
			return fig, err
		}
		v.Color, v.Dashes, v.Width = limitColor, []vg.Length{vg.Points(4), vg.Points(3)}, vg.Points(1)
		p.Add(v)
		// The label goes on the side of the line with more room.
		text, align := " "+l.text, draw.XLeft
		if l.x > (lo+hi)/2 {
			text, align = l.text+" ", draw.XRight
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: []plotter.XY{{X: l.x, Y: ymax * 1.05}}, Labels: []string{text}})
		if err != nil {
			return fig, err
		}
		for k := range lab.TextStyle {
			lab.TextStyle[k].Font.Variant = "Sans"
			lab.TextStyle[k].Font.Size = vg.Points(10)
			lab.TextStyle[k].Color = limitColor
			lab.TextStyle[k].XAlign = align
			lab.TextStyle[k].YAlign = draw.YTop
		}
		p.Add(lab)
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, 0, ymax*1.1
	svg, err := svgOf(p, fig.Title)
	if err != nil {
		return fig, err
	}
	fig.SVG = svg
	switch m.Type {
	case events.MetricRatio:
		notes = append([]string{"Beta posteriors rebuilt from each version's successes and trials (uniform prior)."}, notes...)
	case events.MetricMean:
		notes = append([]string{"Student-t posteriors of the mean rebuilt from each version's count, mean and spread (Normal-Inverse-Gamma model)."}, notes...)
	}
	if len(approx) > 0 {
		notes = append(notes, fmt.Sprintf("Approximated from the reported mean and %s interval (split normal): %s.",
			present.Percent(spec.Confidence), strings.Join(approx, ", ")))
	}
	if len(missing) > 0 {
		notes = append(notes, "Not drawn, no data yet: "+strings.Join(missing, ", ")+".")
	}
	if drawn > 0 {
		notes = append(notes, "Dashed: the objective's limit.")
	}
	fig.Caption = strings.Join(notes, " ")
	return fig, nil
}

type limitLine struct {
	x    float64
	text string
}

// limitsOf returns the limits of the objectives on metric: absolute ones as
// written, relative ones at their multiple of the baseline's posterior mean.
func limitsOf(spec events.ExperimentSpec, a *events.Assessed, st experiment.State, metric string) []limitLine {
	var out []limitLine
	base := math.NaN()
	if len(st.Versions) > 0 {
		if ma := metricAssessment(a, st.Versions[0], metric); ma != nil && ma.Mean != nil {
			base = *ma.Mean
		}
	}
	for _, o := range spec.Objectives {
		if o.Metric != metric {
			continue
		}
		switch {
		case o.UpperLimit != nil:
			out = append(out, limitLine{*o.UpperLimit, "≤ " + present.Limit(*o.UpperLimit)})
		case o.LowerLimit != nil:
			out = append(out, limitLine{*o.LowerLimit, "≥ " + present.Limit(*o.LowerLimit)})
		case o.UpperLimitRelative != nil && !math.IsNaN(base):
			out = append(out, limitLine{*o.UpperLimitRelative * base, fmt.Sprintf("≤ %g× baseline", *o.UpperLimitRelative)})
		case o.LowerLimitRelative != nil && !math.IsNaN(base):
			out = append(out, limitLine{*o.LowerLimitRelative * base, fmt.Sprintf("≥ %g× baseline", *o.LowerLimitRelative)})
		}
	}
	return out
}

func metricAssessment(a *events.Assessed, version, metric string) *events.MetricAssessment {
	if a == nil {
		return nil
	}
	for _, va := range a.Versions {
		if va.Version != version {
			continue
		}
		for k := range va.Metrics {
			if va.Metrics[k].Metric == metric {
				return &va.Metrics[k]
			}
		}
	}
	return nil
}
