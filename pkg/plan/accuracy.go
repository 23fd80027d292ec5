package plan

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
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
	// Grid are the median and p90 read as grouped data (gridQuantile),
	// planned then measured, and their ratios: the target is judged on
	// them, since one window more or less moves an order statistic by
	// a whole window's requests.
	GridPlanned     [2]float64 `json:"gridPlanned"`
	GridMeasured    [2]float64 `json:"gridMeasured"`
	GridMedianRatio float64    `json:"gridMedianRatio"`
	GridP90Ratio    float64    `json:"gridP90Ratio"`
}

// MedianMet and P90Met are issue #19's targets for a plan, judged on the
// grouped data: the planned median samples within ±20% of the measured,
// the p90 within ±30%, ends included. They compare the ratio with the
// ends, not |r − 1| with the margin: 1 − 0.7 is 0.30000000000000004.
func (a Accuracy) MedianMet() bool { return a.GridMedianRatio >= 0.8 && a.GridMedianRatio <= 1.2 }

// P90Met: see MedianMet.
func (a Accuracy) P90Met() bool { return a.GridP90Ratio >= 0.7 && a.GridP90Ratio <= 1.3 }

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
	results, err := simulate.RunAll(s, simulate.Options{Runs: runs, Seed: seed + 3, Workers: workers})
	if err != nil {
		return Accuracy{}, err
	}
	r := simulate.Summarize(s, simulate.PolicyIter8, seed+3, results)
	var measured []float64
	for _, x := range results {
		n := 0.0
		for _, c := range x.Served {
			n += float64(c)
		}
		measured = append(measured, n)
	}
	sorted(measured)
	step := float64(s.Traffic.RequestsPerInterval)
	gp := [2]float64{gridQuantile(p.samples, 0.5, step), gridQuantile(p.samples, 0.9, step)}
	gm := [2]float64{gridQuantile(measured, 0.5, step), gridQuantile(measured, 0.9, step)}
	return Accuracy{
		GridPlanned: gp, GridMeasured: gm, GridMedianRatio: gp[0] / gm[0], GridP90Ratio: gp[1] / gm[1],
		Scenario: s.Name, Planned: p.Report.Samples, Measured: r.Samples,
		MedianRatio: p.Report.Samples.Median / r.Samples.Median, P90Ratio: p.Report.Samples.P90 / r.Samples.P90,
		PlanRuns: p.Runs, MeasuredRuns: runs, PlanMedianCI: p.Samples.MedianCI, PlanP90CI: p.Samples.P90CI,
		PlannedDecide: p.Decided,
	}, nil
}

// ETAPoint is the ETA shown at one fraction of a run's actual duration
// (Own), or of the median duration over runs (Fixed).
type ETAPoint struct {
	// Fraction is 0.25, 0.5 or 0.75.
	Fraction float64 `json:"fraction"`
	// Ratios are the ETA shown (ETA.Point) / actual remaining windows,
	// one per run.
	Ratios []float64 `json:"ratios"`
	// MedianRatios are the forward runs' median / actual remaining
	// windows: the ideal ETA's ratio when the forward runs are the
	// oracle's (docs/planning.md, "Which point is shown").
	MedianRatios []float64 `json:"medianRatios"`
	// ETAs and Actuals are the ETAs shown and actual remaining windows.
	ETAs    []float64 `json:"etas"`
	Actuals []float64 `json:"actuals"`
	// Below counts the runs whose actual remaining time fell below the
	// forward runs' median, a tie counting one half: calibrated, it is
	// half the runs.
	Below float64 `json:"below"`
	// Inside counts the actual remaining times inside the p10–p90 spread,
	// a time on its edge counting one half: calibrated, 80%.
	Inside float64 `json:"inside"`
	// PITBelow and PITInside are the same two checks on the randomised
	// probability integral transform u of the actual remaining windows
	// under the ETA's forward runs (u uniform between the share of runs
	// shorter than it and the share not longer): the expected count of
	// u < ½ and of u in [0.1, 0.9]. Remaining windows are whole numbers,
	// and a calibrated ETA whose p10 and p90 fall on the same window or
	// two would score far below 80% on Inside; u is uniform whenever the
	// ETA's distribution is the true one, lattice or not, and the runs'
	// empirical distribution is read the same way (a new draw's rank).
	PITBelow  float64 `json:"pitBelow"`
	PITInside float64 `json:"pitInside"`
	// Forwards are each run's ETA's forward runs (ETA.Forward): any other
	// point of the predictive can be scored from them.
	Forwards [][]float64 `json:"forwards"`
	// Served are the requests the last version (a canary's candidate) had
	// served by the moment, one per run: how much the state can know of
	// it.
	Served []float64 `json:"served"`
}

func (p *ETAPoint) add(e ETA, actual, served float64) {
	p.Served = append(p.Served, served)
	p.Ratios = append(p.Ratios, e.Windows/actual)
	p.MedianRatios = append(p.MedianRatios, quantile(e.Forward, 0.5)/actual)
	p.ETAs = append(p.ETAs, e.Windows)
	p.Forwards = append(p.Forwards, e.Forward)
	p.Actuals = append(p.Actuals, actual)
	p.Below += half(actual*e.Window, e.Median)
	p.Inside += half(actual*e.Window, e.P90) - half(actual*e.Window, e.P10)
	lo, hi := pit(e.Forward, actual)
	p.PITBelow += within(lo, hi, 0, 0.5)
	p.PITInside += within(lo, hi, 0.1, 0.9)
}

// pit is the range [F(x−), F(x)] of the empirical distribution of sorted
// xs at x, the range the randomised PIT is uniform on. Of n runs, a new
// draw from the same distribution has rank uniform on 0..n, so the range
// is stretched to ranks: [k/(n+1), (k+ties+1)/(n+1)] with k runs below x.
func pit(xs []float64, x float64) (lo, hi float64) {
	n := float64(len(xs))
	k := float64(sort.SearchFloat64s(xs, x))
	ties := float64(sort.SearchFloat64s(xs, math.Nextafter(x, math.Inf(1)))) - k
	return k / (n + 1), (k + ties + 1) / (n + 1)
}

// within is the share of [lo, hi] inside [a, b]: P(a ≤ u ≤ b) for u
// uniform on [lo, hi].
func within(lo, hi, a, b float64) float64 {
	if !(hi > lo) {
		return 0
	}
	return math.Max(0, math.Min(hi, b)-math.Max(lo, a)) / (hi - lo)
}

// half is 1 when x < y, ½ when they are equal, else 0.
func half(x, y float64) float64 {
	switch {
	case x < y:
		return 1
	case x == y:
		return 0.5
	}
	return 0
}

// ETAEstimator is one way of estimating ETAs that ETAAccuracy compares.
type ETAEstimator struct {
	Name    string
	Options ETAOptions
}

// ETAEstimators are the ETA as shown (Estimate's defaults, given before,
// the baseline's data before the start, as a user's Prometheus has them),
// the point estimates as the data give them (the ETA before the survival
// correction), and an oracle that knows the scenario's true distributions:
// the best any estimate from the state could do. When others of the
// scenarios share s's experiment and differ in truth, "known truths" is
// also one: it knows the runs come from one of their truths or s's, not
// which (truths.go), in the scenarios' order; and for a canary, WithPast:
// the ETA as shown on a Service whose last experiment.PastCap canaries
// were like those scenarios in turn (PastCanaries, with seed).
func ETAEstimators(s simulate.Scenario, before map[string]stats.Data, scenarios []simulate.Scenario, seed uint64) ([]ETAEstimator, error) {
	ests := []ETAEstimator{
		{Name: Shown, Options: ETAOptions{Baseline: before}},
		{Name: "point estimates", Options: ETAOptions{Raw: true, Point: true}},
		{Name: Oracle, Options: ETAOptions{Truth: s.Truth, Point: true}},
	}
	var truths []map[string]map[string]simulate.Dist
	var siblings []simulate.Scenario
	for _, x := range scenarios {
		if reflect.DeepEqual(x.Experiment, s.Experiment) && (x.Name == s.Name || !reflect.DeepEqual(x.Truth, s.Truth)) {
			truths = append(truths, x.Truth)
			siblings = append(siblings, x)
		}
	}
	if len(truths) < 2 {
		return ests, nil
	}
	ests = append(ests, ETAEstimator{Name: KnownTruths, Options: ETAOptions{Truths: truths, Point: true}})
	if s.Experiment.Kind == events.KindCanary {
		past, err := PastCanaries(siblings, experiment.PastCap, seed)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		ests = append(ests, ETAEstimator{Name: WithPast, Options: ETAOptions{Baseline: before, Past: past}})
	}
	return ests, nil
}

// The estimators' names that the benchmark's tables single out: Shown is
// the ETA describe, watch and the report show, the one issue #19's target
// is judged on; Oracle knows the truth; KnownTruths knows the candidate
// truths but not which.
const (
	Shown       = "iter8"
	Oracle      = "oracle"
	KnownTruths = "known truths"
)

// ETAEstimates are one estimator's points.
type ETAEstimates struct {
	Name string `json:"name"`
	// Own are the points at fractions of each run's own duration, as
	// issue #19 states the target; Fixed at fractions of the median
	// duration over the runs that decided, over the runs still running
	// then (no look at the future of a run picks the moment).
	Own   []ETAPoint `json:"own"`
	Fixed []ETAPoint `json:"fixed"`
}

// ETAResult is ETAAccuracy's answer.
type ETAResult struct {
	// Refine is how many windows each of the scenario's was cut into.
	Refine int `json:"refine"`
	// Used is the runs that decided after at least four windows, and
	// Windows their median windows.
	Used    int     `json:"used"`
	Windows float64 `json:"windows"`
	// Durations are the used runs' windows, in run order: their spread is
	// what no ETA from the state can foresee (docs/planning.md).
	Durations  []float64      `json:"durations"`
	Estimators []ETAEstimates `json:"estimators"`
}

// ETAAccuracy runs s runs times with the real engine, each window of s
// cut into refine windows (so that a quarter of a run is several windows,
// not one), keeps every state, and estimates ETAs against the windows
// that actually remained: for each run that decided within s's horizon
// after at least four windows, at 25%, 50% and 75% of its own duration;
// and for every run still running then, at 25%, 50% and 75% of the
// median duration.
func ETAAccuracy(s simulate.Scenario, refine, runs int, seed uint64, ests []ETAEstimator) (ETAResult, error) {
	refine = max(1, refine)
	s = refined(s, refine)
	var mu sync.Mutex
	states := make([][]experiment.State, runs)
	results, err := simulate.RunAll(s, simulate.Options{Runs: runs, Seed: seed, Interval: simulate.Interval / time.Duration(refine), OnState: func(i int, st experiment.State) {
		mu.Lock()
		defer mu.Unlock()
		states[i] = append(states[i], st)
	}})
	if err != nil {
		return ETAResult{}, err
	}
	res := ETAResult{Refine: refine}
	var durations []float64
	for _, r := range results {
		if r.Outcome != simulate.OutcomeInconclusive && r.Intervals >= 4 {
			durations = append(durations, float64(r.Intervals))
		}
	}
	res.Used = len(durations)
	res.Durations = slices.Clone(durations)
	if res.Used == 0 {
		return res, nil
	}
	res.Windows = quantile(sorted(durations), 0.5)
	for _, est := range ests {
		e := ETAEstimates{Name: est.Name}
		for _, f := range []float64{0.25, 0.5, 0.75} {
			e.Own = append(e.Own, ETAPoint{Fraction: f})
			e.Fixed = append(e.Fixed, ETAPoint{Fraction: f})
		}
		// A run's moment at a fraction of its own duration is often the
		// one at the same fraction of the median: the same state, so the
		// same ETA (Estimate is deterministic), computed once.
		done := map[[2]int]ETA{}
		eta := func(i, at int) (ETA, error) {
			if x, ok := done[[2]int{i, at}]; ok {
				return x, nil
			}
			o := est.Options
			o.Horizon = s.Traffic.MaxIntervals - at
			x, err := Estimate(s.Experiment, states[i][at-1], o)
			if err != nil {
				return x, fmt.Errorf("%s %s run %d window %d: %w", s.Name, est.Name, i, at, err)
			}
			done[[2]int{i, at}] = x
			return x, nil
		}
		for i, r := range results {
			for k := range e.Fixed {
				at := max(1, int(math.Round(e.Fixed[k].Fraction*res.Windows)))
				if r.Intervals <= at {
					continue
				}
				x, err := eta(i, at)
				if err != nil {
					return res, err
				}
				e.Fixed[k].add(x, float64(r.Intervals-at), lastServed(s.Experiment, states[i][at-1]))
			}
			if r.Outcome == simulate.OutcomeInconclusive || r.Intervals < 4 {
				continue
			}
			for k := range e.Own {
				at := max(1, int(math.Round(e.Own[k].Fraction*float64(r.Intervals))))
				x, err := eta(i, at)
				if err != nil {
					return res, err
				}
				e.Own[k].add(x, float64(r.Intervals-at), lastServed(s.Experiment, states[i][at-1]))
			}
		}
		res.Estimators = append(res.Estimators, e)
	}
	return res, nil
}

// lastServed is the requests st's last version has served.
func lastServed(spec events.ExperimentSpec, st experiment.State) float64 {
	n := experiment.VersionSamples(spec.Defaulted(), st.Data)
	if len(n) == 0 {
		return 0
	}
	return n[len(n)-1]
}
