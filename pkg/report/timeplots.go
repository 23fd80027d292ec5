package report

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/present"
)

// The figures over the experiment's time: its traffic split and each
// version's probability to win, window by window, on a clock-time axis.

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
	pts := pointsWith(st, func(pt experiment.Point) int { return len(pt.Traffic) })
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
	pts := pointsWith(st, func(pt experiment.Point) int { return len(pt.Prob) })
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

// pointsWith is the history's points whose field (one value a version,
// of length n(point)) covers every version: a point without it has
// nothing to plot.
func pointsWith(st experiment.State, n func(experiment.Point) int) []experiment.Point {
	var pts []experiment.Point
	for _, pt := range st.History.Points {
		if n(pt) == len(st.Versions) {
			pts = append(pts, pt)
		}
	}
	return pts
}
