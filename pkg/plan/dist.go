package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// The families the plan draws each metric from: Bernoulli for a ratio;
// for a mean, lognormal with the same two moments when its range is
// non-negative (the engine refuses values outside the range), else normal;
// lognormal for a quantile (a latency), binned into the metric's buckets.

// fit turns observed data of metric m into the distribution one request
// draws from, at the point estimates; ok is false without data.
func fit(m events.MetricSpec, d stats.Data, cv float64) (simulate.Dist, bool) {
	switch experiment.KindOf(m.Type) {
	case stats.Ratio:
		if !(d.Trials > 0) {
			return simulate.Dist{}, false
		}
		return bernoulli(d.Successes / d.Trials), true
	case stats.Mean:
		if !(d.Count > 0) {
			return simulate.Dist{}, false
		}
		sd := 0.0
		if d.Count > 1 {
			sd = math.Sqrt(d.M2 / (d.Count - 1))
		}
		if !(sd > 0) {
			sd = cv * math.Abs(d.Mu)
		}
		return meanDist(m, d.Mu, sd), true
	}
	return fitHistogram(m, d, cv, nil)
}

// fitHistogram fits a lognormal to a histogram by maximum likelihood on
// the grouped counts (histfit.go), drawn from the fit's asymptotic law
// when rng is set. The search starts from the lognormal through two of
// its quantiles, read by log-linear interpolation within their buckets:
// the median and the metric's own quantile (the 90th when that is the
// median); that fit stands when the counts fill a single bucket.
func fitHistogram(m events.MetricSpec, d stats.Data, cv float64, rng *rand.Rand) (simulate.Dist, bool) {
	total := 0.0
	for _, c := range d.Counts {
		total += c
	}
	if !(total > 0) || len(d.Bounds) == 0 {
		return simulate.Dist{}, false
	}
	q := m.Quantile
	if math.Abs(q-0.5) < 0.05 {
		q = 0.9
	}
	x50, xq := histQuantile(d, total, 0.5), histQuantile(d, total, q)
	if !(x50 > 0) || !(xq > 0) {
		return lognormalAt(m, math.Max(x50, xq), cv), x50 > 0 || xq > 0
	}
	sigma := (math.Log(xq) - math.Log(x50)) / distuv.UnitNormal.Quantile(q)
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		sigma = sigmaOf(cv)
	}
	if h, ok := fitGrouped(d, math.Log(x50), sigma); ok {
		mu, s := h.draw(rng)
		return lognormal(mu, s), true
	}
	return lognormal(math.Log(x50), sigma), true
}

// histQuantile is the q-quantile of the histogram, interpolated
// log-linearly within its bucket (linearly in the first, from 0); the
// overflow bucket answers its lower bound.
func histQuantile(d stats.Data, total, q float64) float64 {
	want, cum := q*total, 0.0
	for k, c := range d.Counts {
		if cum+c < want || c == 0 {
			cum += c
			continue
		}
		if k >= len(d.Bounds) {
			return d.Bounds[len(d.Bounds)-1]
		}
		hi, f := d.Bounds[k], (want-cum)/c
		if k == 0 || d.Bounds[k-1] <= 0 {
			return hi * f
		}
		lo := d.Bounds[k-1]
		return math.Exp(math.Log(lo) + f*(math.Log(hi)-math.Log(lo)))
	}
	return d.Bounds[len(d.Bounds)-1]
}

// assumed is the distribution of metric m whose value (Dist.Value) is v,
// when nothing was observed: the spread comes from the coefficient of
// variation cv.
func assumed(m events.MetricSpec, v, cv float64) simulate.Dist {
	switch experiment.KindOf(m.Type) {
	case stats.Ratio:
		return bernoulli(v)
	case stats.Mean:
		return meanDist(m, v, cv*math.Abs(v))
	}
	return lognormalAt(m, v, cv)
}

// meanDist is a mean metric's distribution with this mean and standard
// deviation: lognormal (same two moments) when the metric's range starts
// at 0 or above, since the engine refuses values outside the range (a
// normal could draw below it); normal otherwise.
func meanDist(m events.MetricSpec, mean, sd float64) simulate.Dist {
	if lo, _ := m.Range(); lo >= 0 && mean > 0 && sd > 0 {
		s2 := math.Log1p((sd / mean) * (sd / mean))
		return lognormal(math.Log(mean)-s2/2, math.Sqrt(s2))
	}
	return normal(mean, sd)
}

func lognormalAt(m events.MetricSpec, v, cv float64) simulate.Dist {
	sigma := sigmaOf(cv)
	return lognormal(math.Log(v)-sigma*distuv.UnitNormal.Quantile(m.Quantile), sigma)
}

// sigmaOf is the log-sd of a lognormal with coefficient of variation cv.
func sigmaOf(cv float64) float64 { return math.Sqrt(math.Log1p(cv * cv)) }

// scaled returns d moved so that its value for m is v: a ratio's
// probability is v; a mean's distribution is scaled (the coefficient of
// variation is kept); a lognormal is shifted on the log scale (every
// quantile scales).
func scaled(d simulate.Dist, m events.MetricSpec, v float64) (simulate.Dist, error) {
	cur := d.Value(m)
	switch {
	case d.Bernoulli != nil:
		if !(v >= 0 && v <= 1) {
			return d, fmt.Errorf("metric %s: a ratio must be in [0, 1], got %v", m.Name, v)
		}
		return bernoulli(v), nil
	case d.Normal != nil:
		sd := *d.Normal.SD
		if cur != 0 && v != 0 {
			sd *= math.Abs(v / cur)
		}
		return normal(v, sd), nil
	case d.LogNormal != nil:
		if !(v > 0) {
			return d, fmt.Errorf("metric %s: a quantile must be > 0, got %v", m.Name, v)
		}
		return lognormal(*d.LogNormal.Mu+math.Log(v/cur), *d.LogNormal.Sigma), nil
	}
	return d, fmt.Errorf("metric %s: cannot scale %+v", m.Name, d)
}

// posterior draws a distribution for metric m from what the data say of
// it (the point estimates when rng is nil): a ratio's probability from its
// Beta(s+½, f+½) posterior, a mean from its normal approximation, a
// histogram's lognormal from the asymptotic law of its grouped-data MLE
// (histfit.go).
func posterior(m events.MetricSpec, d stats.Data, cv float64, rng *rand.Rand) (simulate.Dist, bool) {
	if rng != nil && experiment.KindOf(m.Type) == stats.Quantile {
		// One grouped-data fit, drawn from: fit would make the same fit
		// (a Newton search) only for it to be made again here.
		return fitHistogram(m, d, cv, rng)
	}
	base, ok := fit(m, d, cv)
	if !ok || rng == nil {
		return base, ok
	}
	switch {
	case base.Bernoulli != nil:
		b := distuv.Beta{Alpha: d.Successes + 0.5, Beta: d.Trials - d.Successes + 0.5, Src: rng}
		return bernoulli(b.Rand()), true
	case base.Normal != nil:
		se := *base.Normal.SD / math.Sqrt(d.Count)
		return normal(*base.Normal.Mean+se*rng.NormFloat64(), *base.Normal.SD), true
	}
	return base, true
}

func bernoulli(p float64) simulate.Dist { return simulate.Dist{Bernoulli: &p} }

func normal(mean, sd float64) simulate.Dist {
	return simulate.Dist{Normal: &simulate.NormalDist{Mean: &mean, SD: &sd}}
}

func lognormal(mu, sigma float64) simulate.Dist {
	return simulate.Dist{LogNormal: &simulate.LogNormal{Mu: &mu, Sigma: &sigma}}
}

// quantile is the empirical p-quantile (an order statistic, as in
// simulate's reports) of sorted xs.
func quantile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return stat.Quantile(p, stat.Empirical, xs, nil)
}

// quantileCI is the 95% distribution-free interval of the p-quantile of
// sorted xs: the order statistics at n·p ± 1.96·√(n·p·(1−p)).
func quantileCI(xs []float64, p float64) [2]float64 {
	n := float64(len(xs))
	h := 1.96 * math.Sqrt(n*p*(1-p))
	return [2]float64{quantile(xs, math.Max(0, p-h/n)), quantile(xs, math.Min(1, p+h/n))}
}

func sorted(xs []float64) []float64 { sort.Float64s(xs); return xs }

// gridQuantile is the p-quantile of sorted xs read as grouped data on a
// lattice of step: samples to a decision come in whole windows, so the
// order statistic jumps a window at a time; this interpolates linearly
// within the window [x−step, x] of the first value x at which the share of
// runs at or below it reaches p.
func gridQuantile(xs []float64, p, step float64) float64 {
	n := float64(len(xs))
	if n == 0 {
		return math.NaN()
	}
	prev, fprev := xs[0], 0.0
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && xs[j] == xs[i] {
			j++
		}
		f := float64(j) / n
		if f >= p {
			lo := math.Max(prev, xs[i]-step)
			if i == 0 {
				lo = xs[i] - step
			}
			return lo + (p-fprev)/(f-fprev)*(xs[i]-lo)
		}
		prev, fprev, i = xs[i], f, j
	}
	return xs[len(xs)-1]
}
