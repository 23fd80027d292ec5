package plan

import (
	"fmt"
	"math"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// The simulated time of a plan: its grid of windows, folded where a
// maxDuration holds more windows than MaxWindows, and the zoom onto a
// shorter horizon when the pilot decides well before maxDuration.

// Zoom is how many times the coarse pilot's p90 a zoomed plan's horizon
// spans.
const Zoom = 4

// zoom runs a coarse pilot of sc (the expected case on grid g; from
// MinRuns to PilotRuns runs within PilotShare of CostBudget) and, when
// Zoom times its p90 is shorter than the grid's horizon, returns a finer
// grid over that shorter horizon; otherwise the plan stays on g, and the
// pilot's runs are its first runs. Runs still undecided at a zoomed
// horizon count as not deciding in time, so the chance of deciding in
// time can only be underestimated (by the share of runs deciding between
// Zoom·p90 and maxDuration).
func zoom(sc simulate.Scenario, a Assumptions, maxD time.Duration, g grid, o simulate.Options) (grid, []simulate.RunResult, bool, error) {
	o.Interval, o.Runs = g.window, 0
	results, err := sized(sc, o, budget{units: PilotShare * CostBudget, windows: math.MaxInt / MaxRuns,
		minRuns: MinRuns, pilotRuns: PilotRuns, maxRuns: PilotRuns}, nil)
	if err != nil {
		return g, nil, false, fmt.Errorf("plan: pilot: %w", err)
	}
	var w []float64
	for _, r := range results {
		w = append(w, float64(r.Intervals))
	}
	real := int(math.Ceil(Zoom * quantile(sorted(w), 0.9) * float64(g.factor)))
	if real >= g.windows*g.factor {
		return g, results, false, nil
	}
	return gridOf(a, maxD, max(real, MaxWindows)), results, true, nil
}

// runSpec is spec as simulated on g: past maxDuration to the grid's
// horizon unless a scenario's horizon was given (a run is cut at the real
// limit when scored), folded.
func runSpec(spec events.ExperimentSpec, g grid, horizon int) events.ExperimentSpec {
	if horizon <= 0 {
		spec.Limits.MaxDuration = &events.Duration{Duration: time.Duration(g.windows) * g.window}
	}
	return folded(spec, g.factor)
}

// grid is the simulated time: windows of window, each of rpi requests,
// factor real windows folded into one, for at most windows.
type grid struct {
	window  time.Duration
	rpi     int64
	windows int
	factor  int
	limit   int // windows until maxDuration
}

func gridOf(a Assumptions, maxD time.Duration, horizon int) grid {
	limit := int(math.Ceil(float64(maxD) / float64(a.Window)))
	n := horizon
	if n <= 0 {
		n = Extend * limit
	}
	f := max(1, (n+MaxWindows-1)/MaxWindows)
	g := grid{window: a.Window * time.Duration(f), factor: f, windows: (n + f - 1) / f, limit: (limit + f - 1) / f}
	g.rpi = max(1, int64(math.Round(a.Rate*g.window.Seconds())))
	return g
}

func (g grid) scenario(name string, spec events.ExperimentSpec, truth map[string]map[string]simulate.Dist, real events.ExperimentSpec) simulate.Scenario {
	expect := simulate.PossibleOutcomes(real)
	return simulate.Scenario{
		Name: name, Experiment: spec, Truth: truth, Expect: expect,
		Traffic: simulate.Traffic{RequestsPerInterval: g.rpi, MaxIntervals: g.windows},
	}
}
