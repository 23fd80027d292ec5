package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strings"
	"time"

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

// timeAxis shows clock times, with the date once the experiment spans days.
func timeAxis(p *plot.Plot, from, to int64) {
	format := "15:04"
	if to-from > 36*3600 {
		format = "Jan 2 15:04"
	}
	p.X.Tick.Marker = timeTicks{format: format}
}

// timeTicks puts ticks on round clock times, about six per axis: gonum's
// default ticker picks round numbers of seconds, which are rarely round
// times.
type timeTicks struct{ format string }

var tickSteps = []int64{60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 2 * 24 * 3600, 7 * 24 * 3600}

func (t timeTicks) Ticks(lo, hi float64) []plot.Tick {
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if (hi-lo)/float64(s) <= 7 {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	for v := int64(math.Ceil(lo/float64(step))) * step; float64(v) <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: float64(v), Label: time.Unix(v, 0).UTC().Format(t.format)})
		// Unlabelled minor ticks halve the step.
		if mid := float64(v + step/2); mid <= hi {
			ticks = append(ticks, plot.Tick{Value: mid})
		}
	}
	return ticks
}

// trafficFigure plots the split the engine set at each recorded iteration,
// held until the next (and, while the experiment runs, until now).
func trafficFigure(st experiment.State, now time.Time) (figure, bool, error) {
	fig := figure{Title: "Traffic over time"}
	var pts []experiment.Point
	for _, pt := range st.History.Points {
		if len(pt.Traffic) == len(st.Versions) {
			pts = append(pts, pt)
		}
	}
	if len(pts) == 0 {
		return fig, false, nil
	}
	end := pts[len(pts)-1].Time
	running := st.Phase == experiment.PhaseRunning || st.Phase == experiment.PhasePaused
	if running && now.Unix() > end {
		last := pts[len(pts)-1]
		last.Time = now.Unix()
		pts = append(pts, last)
		end = last.Time
	}
	p := newPlot("time (UTC)", "% of traffic")
	for i := range st.Versions {
		xy := make(plotter.XYs, len(pts))
		for k, pt := range pts {
			xy[k] = plotter.XY{X: float64(pt.Time), Y: float64(pt.Traffic[i])}
		}
		line, err := plotter.NewLine(xy)
		if err != nil {
			return fig, false, fmt.Errorf("traffic of %s: %w", st.Versions[i], err)
		}
		line.StepStyle = plotter.PostStep
		line.Color, line.Width, line.Dashes = versionColor(i), vg.Points(2), versionDashes(i)
		p.Add(line)
	}
	start := pts[0].Time
	if end == start {
		end = start + 60
	}
	p.X.Min, p.X.Max = float64(start), float64(end)
	p.Y.Min, p.Y.Max = 0, 102
	timeAxis(p, start, end)
	svg, err := svgOf(p, fig.Title)
	if err != nil {
		return fig, false, err
	}
	fig.SVG = svg
	fig.Caption = fmt.Sprintf("The split iter8 set at each recorded iteration (every %s), held until the next.", every(st.History.Every))
	return fig, true, nil
}

func every(n int) string {
	if n <= 1 {
		return "iteration"
	}
	return fmt.Sprintf("%d iterations", n)
}

// probFigure plots the probability the decision rests on, per version,
// against the confidence that ends the experiment.
func probFigure(spec events.ExperimentSpec, st experiment.State) (figure, bool, error) {
	what := "P(all objectives hold)"
	title := "Probability of meeting the objectives over time"
	if spec.Reward != nil {
		what, title = "P(best on "+spec.Reward.Metric+")", "Win probability over time"
	}
	fig := figure{Title: title}
	var pts []experiment.Point
	for _, pt := range st.History.Points {
		if len(pt.Prob) == len(st.Versions) {
			pts = append(pts, pt)
		}
	}
	if len(pts) == 0 {
		return fig, false, nil
	}
	p := newPlot("time (UTC)", what)
	for i := range st.Versions {
		var xy plotter.XYs
		for _, pt := range pts {
			if pt.Prob[i] >= 0 {
				xy = append(xy, plotter.XY{X: float64(pt.Time), Y: pt.Prob[i]})
			}
		}
		if len(xy) == 0 {
			continue
		}
		line, dots, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fig, false, fmt.Errorf("probability of %s: %w", st.Versions[i], err)
		}
		line.Color, line.Width, line.Dashes = versionColor(i), vg.Points(1.8), versionDashes(i)
		dots.Color, dots.Shape, dots.Radius = versionColor(i), draw.CircleGlyph{}, vg.Points(2)
		p.Add(line, dots)
	}
	start, end := pts[0].Time, pts[len(pts)-1].Time
	if end == start {
		start, end = start-30, end+30
	}
	conf, err := plotter.NewLine(plotter.XYs{{X: float64(start), Y: spec.Confidence}, {X: float64(end), Y: spec.Confidence}})
	if err != nil {
		return fig, false, err
	}
	conf.Color, conf.Dashes, conf.Width = limitColor, []vg.Length{vg.Points(4), vg.Points(3)}, vg.Points(1)
	p.Add(conf)
	p.X.Min, p.X.Max = float64(start), float64(end)
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"},
		{Value: 0.5, Label: "0.5"}, {Value: 0.75, Label: "0.75"}, {Value: 1, Label: "1"}})
	timeAxis(p, start, end)
	svg, err := svgOf(p, fig.Title)
	if err != nil {
		return fig, false, err
	}
	fig.SVG = svg
	fig.Caption = fmt.Sprintf("%s after each recorded assessment (posterior, by Monte Carlo). Dashed: the confidence, %s; "+
		"decisions themselves rest on anytime-valid confidence sequences, so they may come later than the crossing.",
		what, present.Percent(spec.Confidence))
	return fig, true, nil
}
