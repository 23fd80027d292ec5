package simulate

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Fixed-horizon design: 80% power at a minimum detectable effect of 20%.
const (
	fixedPower = 0.80
	// fixedMDE is the relative effect the test is sized for: a 20% lift
	// of the baseline's true reward, or a true value 20% inside an
	// objective's limit. In ab-conversion and abn-three the true lift is
	// exactly 20%, so the test is sized for the very effect present: the
	// most favourable choice for it, which no real team could make.
	fixedMDE = 0.20
)

// ErrNotApplicable is returned when a policy cannot run a scenario.
var ErrNotApplicable = errors.New("policy not applicable")

// fixedHorizon is the classical design: an equal split over every version
// (50/50 for a canary), one look once every version has the
// pre-computed sample size n, and no look before.
//
//   - ab, abn: n per version is the two-sided two-sample size for 80%
//     power at fixedMDE, at level delta/(K−1) (Bonferroni over the K−1
//     comparisons with the baseline). At n, a candidate is feasible when
//     a one-sided level-delta test shows it meets every objective; the
//     feasible candidate with the best estimate among those significantly
//     better than the baseline (unpooled Wald z) is promoted. If none is,
//     the baseline is kept and named when every feasible candidate is
//     significantly worse, the run is a rollback when no candidate is
//     feasible, and inconclusive otherwise.
//   - canary, performance: n is the largest one-sided sample size over
//     the objectives for 80% power to show compliance when the true value
//     sits fixedMDE inside the limit; at n the candidate (or the only
//     version) is promoted (pass) when shown to meet every objective, else
//     rolled back (fail). Before n, a canary has a safety stop (unsafe):
//     it rolls back once the candidate is shown to violate an objective.
//
// Sizing reads the scenario's true standard deviations of mean metrics,
// which a real team would estimate from history.
type fixedHorizon struct {
	env   runEnv
	led   *ledger
	n     float64
	split []int
}

func newFixedHorizon(env runEnv) (*fixedHorizon, error) {
	f := &fixedHorizon{env: env, led: newLedger(env.spec)}
	var err error
	spec := env.spec
	switch spec.Kind {
	case events.KindAB, events.KindABN:
		f.n, err = rewardSampleSize(env)
		f.split = equalSplit(len(spec.Versions()))
	case events.KindCanary:
		f.n, err = objectiveSampleSize(env, 1)
		f.split = []int{50, 50}
	default:
		f.n, err = objectiveSampleSize(env, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("policy fixed-horizon: %w", err)
	}
	f.n = math.Max(math.Ceil(f.n), float64(spec.Limits.MinSamples))
	return f, nil
}

func (f *fixedHorizon) start() ([]int, error) { return f.split, nil }

func (f *fixedHorizon) observe(obs events.MetricsObserved, _ time.Time) ([]int, string, bool, error) {
	if err := f.led.add(obs); err != nil {
		return nil, "", false, fmt.Errorf("policy fixed-horizon: %w", err)
	}
	spec := f.env.spec
	if spec.Kind == events.KindCanary && f.unsafe() {
		return f.env.failed(f.split), OutcomeRollback, true, nil
	}
	for _, s := range f.led.samples() {
		if s < f.n {
			return f.split, "", false, nil
		}
	}
	delta := 1 - spec.Confidence
	switch spec.Kind {
	case events.KindCanary:
		if shownCompliant(spec, f.led.total, 1, delta) {
			return f.env.promoted(f.split, 1), spec.Candidates[0], true, nil
		}
		return f.env.failed(f.split), OutcomeRollback, true, nil
	case events.KindPerformance:
		if shownCompliant(spec, f.led.total, 0, delta) {
			return nil, OutcomePass, true, nil
		}
		return nil, OutcomeFail, true, nil
	}
	return f.decideAB(delta)
}

func (f *fixedHorizon) decideAB(delta float64) ([]int, string, bool, error) {
	spec := f.env.spec
	k := len(f.split)
	z := distuv.UnitNormal.Quantile(1 - delta/float64(k-1)/2)
	j := metricIndex(spec, spec.Reward.Metric)
	sign := 1.0
	if spec.Reward.Direction == events.DirectionMinimize {
		sign = -1
	}
	base := f.led.total[0][j]
	best, bestEst := -1, math.Inf(-1)
	feasible, worse := 0, 0
	for c := 1; c < k; c++ {
		if !shownCompliant(spec, f.led.total, c, delta) {
			continue
		}
		feasible++
		d := f.led.total[c][j]
		est, se := diffEstimate(spec.Metrics[j], d, base)
		score := sign * est / se
		switch {
		case score > z:
			if e, _ := pointEstimate(spec.Metrics[j], d); sign*e > bestEst {
				best, bestEst = c, sign*e
			}
		case score < -z:
			worse++
		}
	}
	switch {
	case best > 0:
		return f.env.promoted(f.split, best), f.led.versions[best], true, nil
	case feasible == 0:
		return f.env.failed(f.split), OutcomeRollback, true, nil
	case worse == feasible:
		return f.env.promoted(f.split, 0), f.led.versions[0], true, nil
	}
	return f.env.failed(f.split), OutcomeInconclusive, true, nil
}

// diffEstimate is the estimate of (version − baseline) and its unpooled
// standard error, for a ratio or mean reward.
func diffEstimate(m events.MetricSpec, v, b stats.Data) (est, se float64) {
	if m.Type == events.MetricRatio {
		pv, pb := v.Successes/v.Trials, b.Successes/b.Trials
		return pv - pb, math.Sqrt(pv*(1-pv)/v.Trials + pb*(1-pb)/b.Trials)
	}
	return v.Mu - b.Mu, math.Sqrt(v.M2/(v.Count-1)/v.Count + b.M2/(b.Count-1)/b.Count)
}

// shownCompliant reports whether a one-sided level-alpha test shows that
// version v meets every objective: the Wilson score bound of a ratio, the
// t-free z bound of a mean, or the Wilson bound of the share of values
// beyond a quantile's limit (read off the histogram, interpolating within
// the limit's bucket and counting an overflow bucket as beyond), must lie
// inside the limit. Relative limits take the baseline's point estimate.
func shownCompliant(spec events.ExperimentSpec, data [][]stats.Data, v int, alpha float64) bool {
	z := distuv.UnitNormal.Quantile(1 - alpha)
	for _, o := range spec.Objectives {
		j := metricIndex(spec, o.Metric)
		m, d := spec.Metrics[j], data[v][j]
		upper, limit, relative := o.Limit()
		if relative {
			b, ok := pointEstimate(m, data[0][j])
			if !ok {
				return false
			}
			limit *= b
		}
		switch m.Type {
		case events.MetricRatio:
			lo, hi := wilson(d.Successes, d.Trials, z)
			if (upper && !(hi < limit)) || (!upper && !(lo > limit)) {
				return false
			}
		case events.MetricMean:
			if d.Count < 2 {
				return false
			}
			h := z * math.Sqrt(d.M2/(d.Count-1)/d.Count)
			if (upper && !(d.Mu+h < limit)) || (!upper && !(d.Mu-h > limit)) {
				return false
			}
		default:
			above, total := massAbove(d.Bounds, d.Counts, limit)
			if upper {
				// Q_q <= limit when fewer than 1−q of the values exceed it.
				if _, hi := wilson(above, total, z); !(hi < 1-m.Quantile) {
					return false
				}
			} else if _, hi := wilson(total-above, total, z); !(hi < m.Quantile) {
				return false
			}
		}
	}
	return true
}

// wilson is the Wilson score interval of s successes in n trials.
func wilson(s, n, z float64) (lo, hi float64) {
	if !(n > 0) {
		return 0, 1
	}
	p := s / n
	z2 := z * z
	c := (p + z2/(2*n)) / (1 + z2/n)
	h := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / (1 + z2/n)
	return c - h, c + h
}

// massAbove is the histogram's count above x, interpolating linearly
// within x's bucket, and its total.
func massAbove(bounds, counts []float64, x float64) (above, total float64) {
	lo := 0.0
	for k, c := range counts {
		total += c
		switch {
		case k == len(bounds):
			above += c // no upper bound: all of it may lie beyond x
		case bounds[k] <= x:
		case lo >= x:
			above += c
		default:
			above += c * (bounds[k] - x) / (bounds[k] - lo)
		}
		if k < len(bounds) {
			lo = bounds[k]
		}
	}
	return above, total
}

// rewardSampleSize is n per version for the reward comparison.
func rewardSampleSize(env runEnv) (float64, error) {
	spec := env.spec
	j := metricIndex(spec, spec.Reward.Metric)
	m := spec.Metrics[j]
	base := env.scenario.Truth[spec.Baseline][m.Name]
	b := env.truth.Values[0][j]
	if b == 0 {
		return 0, fmt.Errorf("%w: a 20%% lift of a baseline reward of 0 is 0", ErrNotApplicable)
	}
	lift := fixedMDE * math.Abs(b)
	alpha := (1 - spec.Confidence) / float64(len(spec.Candidates))
	za := distuv.UnitNormal.Quantile(1 - alpha/2)
	zb := distuv.UnitNormal.Quantile(fixedPower)
	switch m.Type {
	case events.MetricRatio:
		p1 := b
		p2 := p1 + lift
		if spec.Reward.Direction == events.DirectionMinimize || p2 > 1 {
			p2 = p1 - lift
		}
		pbar := (p1 + p2) / 2
		num := za*math.Sqrt(2*pbar*(1-pbar)) + zb*math.Sqrt(p1*(1-p1)+p2*(1-p2))
		return num * num / (lift * lift), nil
	case events.MetricMean:
		sd := base.sd()
		return (za + zb) * (za + zb) * 2 * sd * sd / (lift * lift), nil
	}
	return 0, fmt.Errorf("%w: the fixed-horizon test compares ratio and mean rewards, not quantiles", ErrNotApplicable)
}

// objectiveSampleSize is n for version v to show every objective met.
func objectiveSampleSize(env runEnv, v int) (float64, error) {
	spec := env.spec
	za := distuv.UnitNormal.Quantile(spec.Confidence)
	zb := distuv.UnitNormal.Quantile(fixedPower)
	oneProportion := func(l, t float64) float64 {
		num := za*math.Sqrt(l*(1-l)) + zb*math.Sqrt(t*(1-t))
		return num * num / ((l - t) * (l - t))
	}
	n := 0.0
	for _, o := range spec.Objectives {
		j := metricIndex(spec, o.Metric)
		m := spec.Metrics[j]
		upper, limit, relative := o.Limit()
		if relative {
			limit *= env.truth.Values[0][j]
		}
		shift := fixedMDE * math.Abs(limit)
		target := limit - shift
		if !upper {
			target = limit + shift
		}
		switch m.Type {
		case events.MetricRatio:
			if !(limit > 0 && limit < 1) || target < 0 || target > 1 {
				return 0, fmt.Errorf("%w: objective on %s: limit %v leaves no room for a one-sided test", ErrNotApplicable, m.Name, limit)
			}
			n = math.Max(n, oneProportion(limit, target))
		case events.MetricMean:
			if shift == 0 {
				return 0, fmt.Errorf("%w: objective on %s: a limit of 0 leaves no effect to size for", ErrNotApplicable, m.Name)
			}
			sd := env.scenario.Truth[spec.Versions()[v]][m.Name].sd()
			n = math.Max(n, (za+zb)*(za+zb)*sd*sd/(shift*shift))
		default:
			// The share beyond the limit against 1−q (upper) or q (lower).
			share := 1 - m.Quantile
			if !upper {
				share = m.Quantile
			}
			n = math.Max(n, oneProportion(share, (1-fixedMDE)*share))
		}
	}
	return n, nil
}

// sd is the distribution's standard deviation.
func (d Dist) sd() float64 {
	switch {
	case d.Bernoulli != nil:
		return math.Sqrt(*d.Bernoulli * (1 - *d.Bernoulli))
	case d.Normal != nil:
		return *d.Normal.SD
	case d.LogNormal != nil:
		s2 := *d.LogNormal.Sigma * *d.LogNormal.Sigma
		return math.Sqrt(math.Expm1(s2)) * d.Mean()
	}
	return *d.Exponential.Mean
}

// unsafe is the fixed-horizon canary's safety stop, checked every interval
// before the horizon: the candidate is shown to violate an objective by
// iter8's own anytime-valid verdicts (pkg/stats), as a team running a
// fixed-horizon test would watch a guardrail. A false stop only rolls
// back, the conservative error.
func (f *fixedHorizon) unsafe() bool {
	p := experiment.Problem(f.env.spec, 0, 0)
	d, err := stats.Decide(p, f.led.total, nil)
	if err != nil {
		return false
	}
	for _, v := range d.Verdicts[1] {
		if v == stats.Violated {
			return true
		}
	}
	return false
}
