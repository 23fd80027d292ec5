package stats

import "math"

// This file holds the one-sided tests behind absolute limits on means. A
// Mean metric's window carries only its count, sum and sum of squares, and
// no finite sample bounds a mean from above without an assumption: a rare
// huge value can move it anywhere. So the tests assume what a metric can
// declare, a range [lo, hi] that every observation lies in (for a latency,
// the request timeout bounds it), and are exact under it: no Gaussian
// approximation, valid at every sample size however often looked at, on
// skewed and heavy-tailed data alike.
//
// To show μ < L ("below"), let ξ = (L − X)/(hi − L) >= −1. Under μ >= L,
// E ξ <= 0, and for λ in [0, 1) the inequality of Fan, Grama & Liu
// ("Exponential inequalities for martingales with applications", EJP 2015,
// the base of Howard et al.'s empirical-Bernstein bound)
//
//	exp(λξ − ψ(λ) ξ²) <= 1 + λξ,   ξ >= −1,  ψ(λ) = −ln(1−λ) − λ,
//
// makes Π_i exp(λξ_i − ψ(λ) ξ_i²) a nonnegative supermartingale. With λ
// fixed, its log is λS − ψ(λ)V where S = Σξ_i = n(L − x̄)/(hi − L) and
// V = Σξ_i² = (M2 + n(x̄ − L)²)/(hi − L)²: functions of the totals alone,
// so the process needs no state between windows and every window's
// aggregates suffice. A fixed mixture over λ (boundedLambdas) is a
// supermartingale too, so by Ville's inequality it ever reaches 1/α with
// probability at most α. To show μ > L ("above") the same holds with
// ξ = (X − L)/(L − lo), which needs only the lower end: a heavy upper tail
// can delay "Violated" on an upper limit but never fake it.
//
// The price of the assumption is speed, and only where the range is much
// wider than the data's spread: the best λ is about Δ(hi − L)/(σ² + Δ²) for
// a true mean L − Δ and spread σ, capped below 1, so up to a range of about
// L + σ²/Δ the test grows like a Gaussian one (with the second moment about
// L in place of the variance), and beyond it needs about
// (hi − L) ln(1/α)/Δ observations, which no valid rule can beat much: a
// mass of Δ/(hi − L) at hi, unseen until about (hi − L)/Δ observations,
// would move the mean by Δ.

// boundedLambdas and boundedLogWeights are the mixture over λ: λ = 1 − e^{−t}
// for t = 2^{−12}, 2^{−11}, …, 2^4, equal weights. λ runs from 0.0002 (for
// a limit so close to the range's end that ξ is large) to 1 − 10^{−7} (for
// ranges much wider than the data's spread, where the best λ is near 1).
var boundedLambdas, boundedLogWeights = makeBoundedLambdas()

// boundedPsi is psiE at each of boundedLambdas, computed once: MeanCS's
// bisections call boundedLogE hundreds of times a window, and the values
// are the same floats psiE returns, so nothing changes but the time.
var boundedPsi = func() []float64 {
	psi := make([]float64, len(boundedLambdas))
	for i, l := range boundedLambdas {
		psi[i] = psiE(l)
	}
	return psi
}()

// The mixture's λ are 1 − exp(−2^k) for k from boundedMinExp to
// boundedMaxExp; boundedLambdaCount is how many, a constant so that
// boundedLogE's terms live on the stack.
const (
	boundedMinExp, boundedMaxExp = -12, 4
	boundedLambdaCount           = boundedMaxExp - boundedMinExp + 1
)

func makeBoundedLambdas() ([]float64, []float64) {
	var l, w []float64
	for k := boundedMinExp; k <= boundedMaxExp; k++ {
		l = append(l, -math.Expm1(-math.Ldexp(1, k)))
	}
	for range l {
		w = append(w, -math.Log(float64(len(l))))
	}
	return l, w
}

// psiE is −ln(1−λ) − λ, the cumulant bound of the empirical-Bernstein
// inequality.
func psiE(l float64) float64 { return -math.Log1p(-l) - l }

// boundedLogE is ln E of the test that shows the mean of d above limit
// (above) or below it, for observations in [lo, hi]: 0 without data, −Inf
// when the side it must bet against is unbounded or the limit is outside
// (lo, hi).
func boundedLogE(d Data, limit, lo, hi float64, above bool) float64 {
	if !(d.Count > 0) {
		return 0
	}
	if !(limit > lo && limit < hi) {
		return math.Inf(-1)
	}
	r, gap := hi-limit, limit-d.Mu
	if above {
		r, gap = limit-lo, d.Mu-limit
	}
	if math.IsInf(r, 1) {
		return math.Inf(-1)
	}
	s := d.Count * gap / r
	v := (d.M2 + d.Count*gap*gap) / (r * r)
	var terms [boundedLambdaCount]float64
	for i, l := range boundedLambdas {
		terms[i] = l*s - boundedPsi[i]*v
	}
	return logSumExp(boundedLogWeights, terms[:])
}

// meanVerdict decides "mean <= limit" (upper) or "mean >= limit" for Mean
// data whose observations lie in [lo, hi], each answer at error alpha.
// Limits outside (lo, hi) are decided by the range alone.
func meanVerdict(d Data, lo, hi, limit float64, upper bool, alpha float64) Verdict {
	if !(limit > lo && limit < hi) {
		return intervalVerdict(lo, hi, limit, upper)
	}
	level := -math.Log(alpha)
	return sidedVerdict(boundedLogE(d, limit, lo, hi, true) >= level, boundedLogE(d, limit, lo, hi, false) >= level, upper)
}

// MeanCS is a (1-alpha) confidence sequence for the mean of Mean data whose
// observations lie in [lo, hi]: the interval around the sample mean of the
// means that neither one-sided test above rejects at alpha/2. It is for
// people to read; verdicts test their limit directly. (Right at an end of
// the range the tests lose their power, ξ growing without bound, so a
// sliver there may go unrejected; the interval around the sample mean
// leaves it out.) An end is the
// range's own (possibly infinite) end until the data exclude values beyond
// it, and the whole range without data.
func MeanCS(d Data, lo, hi, alpha float64) (float64, float64) {
	if !(d.Count > 0) || !(hi > lo) {
		return lo, hi
	}
	level := -math.Log(alpha / 2)
	mu := math.Min(math.Max(d.Mu, lo), hi)
	step := math.Sqrt(d.M2/d.Count) + 1e-9*math.Abs(mu) + 1e-300
	end := func(dir float64, edge float64, above bool) float64 {
		rejects := func(m float64) bool { return boundedLogE(d, m, lo, hi, above) >= level }
		inside := mu
		for k := -20; k < 80; k++ {
			m := mu + dir*step*math.Ldexp(1, k)
			if dir*(m-edge) >= 0 {
				m = edge
			}
			if rejects(m) {
				if dir < 0 {
					return bisect(rejects, m, inside)
				}
				return bisect(func(x float64) bool { return !rejects(x) }, inside, m)
			}
			if m == edge {
				break
			}
			inside = m
		}
		return edge
	}
	return end(-1, lo, true), end(1, hi, false)
}
