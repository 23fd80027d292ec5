package plan

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// The survival correction (docs/planning.md, "The ETA"). An experiment
// still running after t windows is, among all runs of the same truth, one
// whose evidence has so far been weaker than usual: that is why it has not
// decided. Its point estimates of the differences between versions are
// therefore too small, and a forward run at those estimates is too slow,
// most of all late in a run (the benchmark measured ETAs about 1.6× too
// long at fixed true values). The correction scales the observed
// differences from the baseline by λ, weighing each λ by the conditional
// likelihood given survival,
//
//	Σ log[φ(z(1−λ)) + φ(z(1+λ))] − log P_λ(no decision in t windows),
//
// (foldedLogLik: the likelihood of the differences' magnitudes, z each
// over its standard error), and takes the posterior mean of λ under a
// flat prior on (0, 3]. P_λ is estimated by running the real engine from
// the start under the scaled truth at the seven λ of survivalScales, with
// common random numbers across λ, and smoothed across λ by a logistic
// curve in ln λ fitted to all of those runs (survivalfit.go).
//
// It was the argmax of that log-likelihood over the seven λ, with each
// P_λ from its own 24 runs: a few runs more or less alive at one λ moved
// the argmax from 1 to 1.5 and back window by window, and the ETA by a
// factor of 2 to 5 with it (ab-conversion seed 1, windows 9 to 12). A
// posterior mean of a smooth likelihood moves little when the data move
// little (TestSurvivalMeanIsSmooth).
//
// survivalScales is the grid of λ simulated.
var survivalScales = []float64{0.25, 0.5, 0.75, 1, 1.5, 2, 3}

const (
	// survivalRuns is the runs per λ.
	survivalRuns = 24
	// survivalBudget caps the engine windows of all survival runs; a
	// longer history is simulated in folded windows.
	survivalBudget = 3000
)

// survivalScale returns the truth with the reward's differences from the
// baseline scaled by the posterior mean of λ (survivalMean), and λ; the truth as given
// and 1 when the correction does not apply (no reward, a quantile reward,
// no difference seen).
func survivalScale(spec events.ExperimentSpec, st experiment.State, truth map[string]map[string]simulate.Dist, window time.Duration, rpi int64, seed uint64, workers int) (map[string]map[string]simulate.Dist, float64, error) {
	if spec.Reward == nil || (spec.Kind != events.KindAB && spec.Kind != events.KindABN) {
		return truth, 1, nil
	}
	j := slices.IndexFunc(spec.Metrics, func(m events.MetricSpec) bool { return m.Name == spec.Reward.Metric })
	if j < 0 {
		return truth, 1, nil
	}
	m := spec.Metrics[j]
	base, baseSE, ok := estimate(m, st.Data[0][j])
	if !ok {
		return truth, 1, nil
	}
	var zs []float64
	diffs := map[string]float64{}
	for v := 1; v < len(st.Versions); v++ {
		x, se, ok := estimate(m, st.Data[v][j])
		if !ok || !(se*se+baseSE*baseSE > 0) {
			continue
		}
		diffs[st.Versions[v]] = x - base
		zs = append(zs, (x-base)/math.Sqrt(se*se+baseSE*baseSE))
	}
	if len(zs) == 0 {
		return truth, 1, nil
	}
	at := func(lambda float64) (map[string]map[string]simulate.Dist, bool) {
		out := map[string]map[string]simulate.Dist{}
		for v, ms := range truth {
			out[v] = ms
			d, ok := diffs[v]
			if !ok {
				continue
			}
			s, err := scaled(ms[m.Name], m, base+lambda*d)
			if err != nil {
				return nil, false // out of range (a ratio above 1): not a candidate λ
			}
			out[v] = maps.Clone(ms)
			out[v][m.Name] = s
		}
		return out, true
	}
	prof, err := survivalProfile(spec, st, at, window, rpi, seed, workers)
	if err != nil {
		return nil, 0, err
	}
	if len(prof) < 2 {
		return truth, 1, nil // a curve needs two λ; between 0 and 1 every λ is in range, so this does not happen
	}
	lambda := survivalMean(prof, zs)
	tr, ok := at(lambda)
	if !ok {
		return nil, 0, fmt.Errorf("survival correction: λ = %v out of range", lambda)
	}
	return tr, lambda, nil
}

// survivalMean is the posterior mean of λ under a flat prior on
// (0, λmax], λmax the largest λ simulated, and the conditional likelihood
// given survival with P_λ smoothed across λ (fitSurvival), on a fine grid.
func survivalMean(prof []survivalPoint, zs []float64) float64 {
	var lambdas, alive []float64
	for _, p := range prof {
		lambdas = append(lambdas, p.Lambda)
		alive = append(alive, p.Alive)
	}
	c := fitSurvival(lambdas, alive, prof[0].Runs)
	hi := lambdas[len(lambdas)-1]
	const cells = 400
	ls := make([]float64, cells)
	best := math.Inf(-1)
	for i := range ls {
		lam := hi * (float64(i) + 0.5) / cells
		ls[i] = foldedLogLik(zs, lam) - c.logP(lam)
		best = max(best, ls[i])
	}
	sum, w := 0.0, 0.0
	for i, l := range ls {
		lam := hi * (float64(i) + 0.5) / cells
		sum += lam * math.Exp(l-best)
		w += math.Exp(l - best)
	}
	return sum / w
}

// survivalPoint is one simulated λ of the survival correction: Alive of
// Runs runs from the start under the scaled truth had not decided by the
// state's window.
type survivalPoint struct {
	Lambda, Alive float64
	Runs          int
}

// survivalProfile simulates every λ of survivalScales whose scaled truth
// is in range, with common random numbers across λ.
func survivalProfile(spec events.ExperimentSpec, st experiment.State, at func(float64) (map[string]map[string]simulate.Dist, bool), window time.Duration, rpi int64, seed uint64, workers int) ([]survivalPoint, error) {
	t := st.Iteration
	f := max(1, (t*survivalRuns*len(survivalScales)+survivalBudget-1)/survivalBudget)
	var prof []survivalPoint
	for _, lambda := range survivalScales {
		tr, ok := at(lambda)
		if !ok {
			break
		}
		alive, err := survivors(spec, "eta-survival", tr, t, f, rpi, window, seed, workers)
		if err != nil {
			return nil, err
		}
		prof = append(prof, survivalPoint{Lambda: lambda, Alive: float64(alive), Runs: survivalRuns})
	}
	return prof, nil
}

// surviving is P(no decision in t windows) under truth tr, from
// survivors: (alive+½)/(runs+1), never 0 or 1.
func surviving(spec events.ExperimentSpec, name string, tr map[string]map[string]simulate.Dist, t, f int, rpi int64, window time.Duration, seed uint64, workers int) (float64, error) {
	alive, err := survivors(spec, name, tr, t, f, rpi, window, seed, workers)
	if err != nil {
		return 0, err
	}
	return (float64(alive) + 0.5) / (survivalRuns + 1), nil
}

// survivors is how many of survivalRuns runs of the engine from the start
// under truth tr, in windows folded f-fold, have not decided after t
// windows, with the same seed for every truth (common random numbers).
func survivors(spec events.ExperimentSpec, name string, tr map[string]map[string]simulate.Dist, t, f int, rpi int64, window time.Duration, seed uint64, workers int) (int, error) {
	sc := simulate.Scenario{
		Name: name, Experiment: folded(spec, f), Truth: tr, Expect: simulate.PossibleOutcomes(spec),
		Traffic: simulate.Traffic{RequestsPerInterval: rpi * int64(f), MaxIntervals: (t + f - 1) / f},
	}
	rs, err := simulate.RunAll(sc, simulate.Options{Runs: survivalRuns, Seed: seed ^ 0x5a1e, Workers: workers, Interval: window * time.Duration(f)})
	if err != nil {
		return 0, err
	}
	alive := 0
	for _, r := range rs {
		if r.Outcome == simulate.OutcomeInconclusive {
			alive++
		}
	}
	return alive, nil
}

// estimate is a ratio's or a mean's point estimate and standard error;
// ok is false for a quantile or without data.
func estimate(m events.MetricSpec, d stats.Data) (x, se float64, ok bool) {
	switch experiment.KindOf(m.Type) {
	case stats.Ratio:
		if !(d.Trials > 0) {
			return 0, 0, false
		}
		p := d.Successes / d.Trials
		return p, math.Sqrt(max(p*(1-p), 0.25/d.Trials) / d.Trials), true
	case stats.Mean:
		if !(d.Count > 1) {
			return 0, 0, false
		}
		return d.Mu, math.Sqrt(d.M2/(d.Count-1)) / math.Sqrt(d.Count), true
	}
	return 0, 0, false
}

// foldedLogLik is the log-likelihood of the observed standardised
// differences zs when the true ones are λ·zs, read as magnitudes (a folded
// normal each): how long an experiment takes depends on how large the
// differences are, not their signs, and the magnitude of a noisy
// difference overstates the true one (E z² = μ² + 1), which this
// likelihood corrects: its maximum is below λ = 1, down to 0 when |z| ≤ 1.
func foldedLogLik(zs []float64, lambda float64) float64 {
	l := 0.0
	for _, z := range zs {
		a, b := z*(1-lambda), z*(1+lambda)
		l += math.Log(math.Exp(-a*a/2) + math.Exp(-b*b/2))
	}
	return l
}
