package simulate

import (
	"fmt"
	"math"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Flagger's analysis settings, from its documentation's canary example
// (stepWeight 10, maxWeight 50, threshold 5) and its A/B testing and
// Blue/Green examples (iterations 10).
const (
	flaggerStepWeight = 10
	flaggerMaxWeight  = 50
	flaggerThreshold  = 5
	flaggerIterations = 10
)

// flagger is Flagger's canary analysis as its documentation describes it.
// Every interval it runs its metric checks on that interval's data alone:
// each objective's point estimate (error rate, mean, or the
// histogram_quantile of a quantile metric) against the objective's
// threshold; a version without data in the interval fails, as Flagger
// fails a check whose query returns no values. A relative objective
// compares with the baseline's estimate from the same interval.
//
//   - canary: the candidate starts at stepWeight (Flagger first spends an
//     interval at 0% initialising, which is not counted against it). A
//     passing check advances it by stepWeight; a passing check at
//     maxWeight promotes it; a failing check increments the failed-check
//     counter, which is never reset, and at threshold rolls back (in the
//     interval of the failing check; Flagger acts at the next one).
//   - ab, abn: Flagger has no bandit and no notion of reward. Its A/B
//     testing mode routes a fixed segment (header or cookie, with session
//     affinity) to the candidate for a number of iterations, promoting if
//     the checks held. Here every version gets an equal share; each
//     candidate's checks run every interval, and a candidate reaching
//     threshold failed checks is dropped (with one candidate: a
//     rollback); after flaggerIterations intervals in which every
//     remaining candidate passed, the version with the best point
//     estimate of the reward over the whole analysis is promoted — what a
//     Flagger user comparing dashboards would do; the baseline, if best,
//     is kept and named.
//   - performance: Blue/Green-style iterations: flaggerIterations passing
//     checks pass; threshold failing checks fail.
type flagger struct {
	env     runEnv
	led     *ledger
	weight  int
	failed  []int
	dropped []bool
	passes  int
	split   []int
}

func newFlagger(env runEnv) *flagger {
	n := len(env.spec.Versions())
	return &flagger{env: env, led: newLedger(env.spec), failed: make([]int, n), dropped: make([]bool, n)}
}

func (f *flagger) start() ([]int, error) {
	switch f.env.spec.Kind {
	case events.KindCanary:
		f.weight = flaggerStepWeight
		f.split = []int{100 - f.weight, f.weight}
	case events.KindAB, events.KindABN:
		f.split = equalSplit(len(f.dropped))
	}
	return f.split, nil
}

func (f *flagger) observe(obs events.MetricsObserved, _ time.Time) ([]int, string, bool, error) {
	if err := f.led.add(obs); err != nil {
		return nil, "", false, fmt.Errorf("policy flagger: %w", err)
	}
	spec := f.env.spec
	switch spec.Kind {
	case events.KindCanary:
		if !pointChecks(spec, f.led.last, 1) {
			if f.failed[1]++; f.failed[1] >= flaggerThreshold {
				return f.env.failed(f.split), OutcomeRollback, true, nil
			}
			return f.split, "", false, nil
		}
		if f.weight >= flaggerMaxWeight {
			return f.env.promoted(f.split, 1), spec.Candidates[0], true, nil
		}
		f.weight = min(f.weight+flaggerStepWeight, flaggerMaxWeight)
		f.split = []int{100 - f.weight, f.weight}
		return f.split, "", false, nil
	case events.KindPerformance:
		if !pointChecks(spec, f.led.last, 0) {
			if f.failed[0]++; f.failed[0] >= flaggerThreshold {
				return nil, OutcomeFail, true, nil
			}
			return nil, "", false, nil
		}
		if f.passes++; f.passes >= flaggerIterations {
			return nil, OutcomePass, true, nil
		}
		return nil, "", false, nil
	}
	return f.observeAB()
}

func (f *flagger) observeAB() ([]int, string, bool, error) {
	spec := f.env.spec
	allPassed, alive := true, 0
	for c := 1; c < len(f.dropped); c++ {
		if f.dropped[c] {
			continue
		}
		if !pointChecks(spec, f.led.last, c) {
			allPassed = false
			if f.failed[c]++; f.failed[c] >= flaggerThreshold {
				f.dropped[c] = true
				continue
			}
		}
		alive++
	}
	if alive == 0 {
		return f.env.failed(f.split), OutcomeRollback, true, nil
	}
	if allPassed {
		f.passes++
	}
	if f.passes >= flaggerIterations {
		best := f.bestByPointEstimate()
		return f.env.promoted(f.split, best), f.led.versions[best], true, nil
	}
	w := make([]float64, len(f.dropped))
	for i := range w {
		if !f.dropped[i] {
			w[i] = 1
		}
	}
	f.split = roundShares(w)
	return f.split, "", false, nil
}

// bestByPointEstimate is the version, not dropped, with the best reward
// estimate over the whole analysis; the baseline on ties.
func (f *flagger) bestByPointEstimate() int {
	spec := f.env.spec
	j := metricIndex(spec, spec.Reward.Metric)
	maximize := spec.Reward.Direction != events.DirectionMinimize
	best, bestV := 0, math.NaN()
	for i := range f.dropped {
		if f.dropped[i] {
			continue
		}
		v, ok := pointEstimate(spec.Metrics[j], f.led.total[i][j])
		if !ok {
			continue
		}
		if math.IsNaN(bestV) || (maximize && v > bestV) || (!maximize && v < bestV) {
			best, bestV = i, v
		}
	}
	return best
}

// pointChecks runs every objective's check on version v's data: the point
// estimate against the threshold. No data fails.
func pointChecks(spec events.ExperimentSpec, data [][]stats.Data, v int) bool {
	for _, o := range spec.Objectives {
		j := metricIndex(spec, o.Metric)
		x, ok := pointEstimate(spec.Metrics[j], data[v][j])
		if !ok {
			return false
		}
		upper, limit, relative := o.Limit()
		if relative {
			b, ok := pointEstimate(spec.Metrics[j], data[0][j])
			if !ok {
				return false
			}
			limit *= b
		}
		if (upper && x > limit) || (!upper && x < limit) {
			return false
		}
	}
	return true
}

// pointEstimate is the metric's plain estimate from d: the ratio, the
// mean, or Prometheus' histogram_quantile; false without data.
func pointEstimate(m events.MetricSpec, d stats.Data) (float64, bool) {
	switch m.Type {
	case events.MetricRatio:
		if d.Trials == 0 {
			return 0, false
		}
		return d.Successes / d.Trials, true
	case events.MetricMean:
		return d.Mu, d.Count > 0
	}
	return histogramQuantile(m.Quantile, d.Bounds, d.Counts)
}

// histogramQuantile estimates the q-quantile as Prometheus'
// histogram_quantile does: linear interpolation within the bucket holding
// the rank, the lowest bucket starting at 0 (when its bound is positive),
// and the last finite bound when the rank falls in the overflow bucket.
func histogramQuantile(q float64, bounds, counts []float64) (float64, bool) {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(bounds) == 0 {
		return 0, false
	}
	rank := q * total
	cum := 0.0
	for k, c := range counts {
		if cum+c < rank || c == 0 {
			cum += c
			continue
		}
		if k == len(bounds) {
			break
		}
		lo := 0.0
		if k > 0 {
			lo = bounds[k-1]
		} else if bounds[0] <= 0 {
			return bounds[0], true
		}
		return lo + (bounds[k]-lo)*(rank-cum)/c, true
	}
	return bounds[len(bounds)-1], true
}

func metricIndex(spec events.ExperimentSpec, name string) int {
	for j, m := range spec.Metrics {
		if m.Name == name {
			return j
		}
	}
	return -1
}

// roundShares turns weights into integer percents summing to 100 by
// largest remainder, ties to the earlier version.
func roundShares(w []float64) []int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	out := make([]int, len(w))
	frac := make([]float64, len(w))
	sum := 0
	for i, x := range w {
		v := 100 * x / total
		out[i] = int(math.Floor(v))
		frac[i] = v - float64(out[i])
		sum += out[i]
	}
	for ; sum < 100; sum++ {
		k := 0
		for i := range frac {
			if frac[i] > frac[k] {
				k = i
			}
		}
		out[k]++
		frac[k] = -1
	}
	return out
}

// promoted is the split after promoting version i: all of it when
// onSuccess is promote, else the split as it was.
func (env runEnv) promoted(cur []int, i int) []int {
	if cur == nil || env.spec.OnSuccess != events.OnSuccessPromote {
		return cur
	}
	return all(len(cur), i)
}

// failed is the split after a failure: all to the baseline when onFailure
// is rollback, else the split as it was.
func (env runEnv) failed(cur []int) []int {
	if cur == nil || env.spec.OnFailure != events.OnFailureRollback {
		return cur
	}
	return all(len(cur), 0)
}
