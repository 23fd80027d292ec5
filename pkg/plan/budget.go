package plan

import (
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// A plan's simulation is sized by what it costs, counted in cost units
// derived from the spec, never by a clock: the same inputs and seed give
// the same runs on any machine and any number of cores. One unit is about
// the CPU one version's ratio or mean metric takes in one engine window;
// a quantile metric's Dirichlet draws take QuantileUnits of them, and
// values drawn one request at a time RequestsPerUnit requests a unit.
// BenchmarkWindowCost calibrates it on specs from one version to four:
// 0.12 to 0.18 ms of CPU a unit at load average 10 (docs/planning.md).
const (
	// CostBudget is the units a whole plan may simulate: its expected
	// case, its pilot and its bad-candidate cases together. README's abn
	// plan simulates 33,149 units in 5.8 to 6.6 s of CPU at load average
	// 10 to 12 on the shared 2-core machine (BenchmarkPlanREADMEABN;
	// whole plans take 0.14 to 0.23 ms a unit, BenchmarkPlanSpecs). Run
	// floors can overshoot it by their own cost: four versions with two
	// quantile objectives simulate 37,832 units.
	CostBudget = 32_000
	// ExpectedShare is the part of CostBudget the expected case (with the
	// pilot whose runs it reuses) may spend; the bad-candidate cases share
	// what is left.
	ExpectedShare = 0.6
	// PilotShare is the part of CostBudget a coarse pilot may spend
	// before the plan zooms in (zoom).
	PilotShare = 0.1
	// QuantileUnits is the units of one version's quantile metric in one
	// window.
	QuantileUnits = 4
	// RequestsPerUnit is how many values drawn one request at a time cost
	// a unit: a quantile metric's histogram below the simulator's bulk
	// size, a mean metric that is neither Bernoulli nor normal.
	RequestsPerUnit = 3500
)

// windowCost is the units one window of sc costs: every version's metrics,
// and the values its requests draw one by one (all versions' requests
// together are the window's; a histogram stops drawing them one by one at
// simulate.BulkHistogram requests of a version).
func windowCost(sc simulate.Scenario) float64 {
	versions := sc.Experiment.Versions()
	v := float64(len(versions))
	rpi := float64(sc.Traffic.RequestsPerInterval)
	units, drawn := 0.0, 0.0
	for _, m := range sc.Experiment.Metrics {
		switch experiment.KindOf(m.Type) {
		case stats.Quantile:
			units += v * QuantileUnits
			if !bernoulliEverywhere(sc, versions, m) {
				drawn += min(rpi, v*simulate.BulkHistogram)
			}
		case stats.Mean:
			units += v
			if oneByOne(sc, versions, m) {
				drawn += rpi
			}
		default:
			units += v
		}
	}
	return units + drawn/RequestsPerUnit
}

// oneByOne is whether some version's values of mean metric m are drawn one
// request at a time (simulate draws Bernoulli and normal means in bulk).
func oneByOne(sc simulate.Scenario, versions []string, m events.MetricSpec) bool {
	for _, v := range versions {
		if d := sc.Truth[v][m.Name]; d.Bernoulli == nil && d.Normal == nil {
			return true
		}
	}
	return false
}

func bernoulliEverywhere(sc simulate.Scenario, versions []string, m events.MetricSpec) bool {
	for _, v := range versions {
		if sc.Truth[v][m.Name].Bernoulli == nil {
			return false
		}
	}
	return true
}

// budget bounds one case's runs: at most units cost units and windows
// engine windows in all, and with reserve more runs like them within left
// units (what later cases need at least), between minRuns and maxRuns
// runs; the first pilotRuns runs (when they fit) size the rest.
type budget struct {
	units, left                          float64
	windows                              int
	reserve, minRuns, pilotRuns, maxRuns int
}

// windowsOf is the engine windows results took (a run that ended at once
// still took one).
func windowsOf(results []simulate.RunResult) int {
	w := 0
	for _, r := range results {
		w += max(r.Intervals, 1)
	}
	return w
}

// sized runs sc o.Runs times, or, when that is 0, continues the runs in
// results (runs 0..len-1 of the same scenario and seed): first to
// b.minRuns; then to as many as the runs so far project to fit the budget
// at their mean windows a run, within [b.minRuns, b.maxRuns], by way of
// b.pilotRuns runs when fewer were run (so that a pilot of that size sizes
// the rest whenever it fits). The count depends on the runs only, and run
// i is the same whatever the batches, so a plan stays deterministic.
func sized(sc simulate.Scenario, o simulate.Options, b budget, results []simulate.RunResult) ([]simulate.RunResult, error) {
	more := func(to int) error {
		if to <= len(results) {
			return nil
		}
		o.First, o.Runs = len(results), to-len(results)
		rs, err := simulate.RunAll(sc, o)
		results = append(results, rs...)
		return err
	}
	if o.Runs > 0 {
		n := o.Runs
		if err := more(n); err != nil {
			return nil, err
		}
		return results[:n], nil
	}
	// The budget in windows, so that the count is integer arithmetic on
	// the runs' windows.
	pw := windowCost(sc)
	limit := min(b.windows, int(max(b.units, 0)/pw))
	left := int(max(b.left, 0) / pw)
	project := func() int {
		n, w := len(results), windowsOf(results)
		fit := limit * n / w
		if b.reserve > 0 {
			fit = min(fit, left*n/w-b.reserve)
		}
		return min(b.maxRuns, max(b.minRuns, fit))
	}
	if err := more(b.minRuns); err != nil {
		return nil, err
	}
	if n := project(); n > len(results) && len(results) < b.pilotRuns {
		if err := more(min(n, b.pilotRuns)); err != nil {
			return nil, err
		}
	}
	if err := more(project()); err != nil {
		return nil, err
	}

	return results, nil
}
