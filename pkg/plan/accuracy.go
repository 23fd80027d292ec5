package plan

import (
	"fmt"
	"math"
	"sync"

	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// Accuracy is how a plan of scenario s compares with what the simulator
// then measures on s itself (docs/planning.md, docs/benchmarks.md).
type Accuracy struct {
	Scenario string `json:"scenario"`
	// Planned and Measured are the plan's and the simulator's samples to
	// a decision; the ratios are planned / measured.
	Planned       simulate.Summary `json:"planned"`
	Measured      simulate.Summary `json:"measured"`
	MedianRatio   float64          `json:"medianRatio"`
	P90Ratio      float64          `json:"p90Ratio"`
	PlanRuns      int              `json:"planRuns"`
	MeasuredRuns  int              `json:"measuredRuns"`
	PlanMedianCI  [2]float64       `json:"planMedianCI"`
	PlanP90CI     [2]float64       `json:"planP90CI"`
	PlannedDecide float64          `json:"plannedDecided"`
}

// PlanAccuracy plans s from AssumptionsOf(s) and measures s with runs
// runs of the simulator under another seed.
func PlanAccuracy(s simulate.Scenario, runs int, seed uint64, workers int) (Accuracy, error) {
	a, err := AssumptionsOf(s, seed+1)
	if err != nil {
		return Accuracy{}, err
	}
	o := ScenarioOptions(s, seed+2)
	o.Workers = workers
	p, err := Make(s.Experiment, a, o)
	if err != nil {
		return Accuracy{}, fmt.Errorf("plan %s: %w", s.Name, err)
	}
	r, err := simulate.Run(s, simulate.Options{Runs: runs, Seed: seed + 3, Workers: workers})
	if err != nil {
		return Accuracy{}, err
	}
	return Accuracy{
		Scenario: s.Name, Planned: p.Report.Samples, Measured: r.Samples,
		MedianRatio: p.Report.Samples.Median / r.Samples.Median, P90Ratio: p.Report.Samples.P90 / r.Samples.P90,
		PlanRuns: p.Runs, MeasuredRuns: runs, PlanMedianCI: p.Samples.MedianCI, PlanP90CI: p.Samples.P90CI,
		PlannedDecide: p.Decided,
	}, nil
}

// ETAPoint is the ETA shown at one fraction of a run's actual duration.
type ETAPoint struct {
	// Fraction is 0.25, 0.5 or 0.75 of the run's windows.
	Fraction float64 `json:"fraction"`
	// Ratios are ETA median / actual remaining windows, one per run.
	Ratios []float64 `json:"ratios"`
	// Inside is how many p10–p90 spreads held the actual remaining time.
	Inside int `json:"inside"`
}

// ETAAccuracy runs s runs times with the real engine, keeps every state,
// and for each run that decided within s's horizon after at least four
// windows, estimates the ETA at 25%, 50% and 75% of its duration from the
// state then, against the windows that actually remained.
func ETAAccuracy(s simulate.Scenario, runs, etaRuns int, seed uint64) ([]ETAPoint, int, error) {
	var mu sync.Mutex
	states := make([][]experiment.State, runs)
	results, err := simulate.RunAll(s, simulate.Options{Runs: runs, Seed: seed, OnState: func(i int, st experiment.State) {
		mu.Lock()
		defer mu.Unlock()
		states[i] = append(states[i], st)
	}})
	if err != nil {
		return nil, 0, err
	}
	points := []ETAPoint{{Fraction: 0.25}, {Fraction: 0.5}, {Fraction: 0.75}}
	used := 0
	for i, r := range results {
		if r.Outcome == simulate.OutcomeInconclusive || r.Intervals < 4 {
			continue
		}
		used++
		for k := range points {
			at := max(1, int(math.Round(points[k].Fraction*float64(r.Intervals))))
			st := states[i][at-1]
			e, err := Estimate(s.Experiment, st, ETAOptions{Runs: etaRuns, Horizon: s.Traffic.MaxIntervals - at})
			if err != nil {
				return nil, 0, fmt.Errorf("%s run %d window %d: %w", s.Name, i, at, err)
			}
			actual := float64(r.Intervals - at)
			points[k].Ratios = append(points[k].Ratios, e.Windows/actual)
			if w := e.Window; actual*w >= e.P10 && actual*w <= e.P90 {
				points[k].Inside++
			}
		}
	}
	return points, used, nil
}
