package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// KLBernoulli is the Kullback-Leibler divergence kl(p, q) between
// Bernoulli(p) and Bernoulli(q), with 0 log 0 = 0; +Inf when q puts no mass
// where p does; NaN outside [0, 1].
func KLBernoulli(p, q float64) float64 {
	if !(p >= 0 && p <= 1 && q >= 0 && q <= 1) {
		return math.NaN()
	}
	return xLogXOverY(p, q) + xLogXOverY(1-p, 1-q)
}

func xLogXOverY(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	if y == 0 {
		return math.Inf(1)
	}
	return x * math.Log(x/y)
}

// maxBetaSumTerms bounds the exact sum of ProbBetaGreater; beyond it the
// integral is computed numerically.
const maxBetaSumTerms = 100000

// ProbBetaGreater is P(X > Y) for independent X ~ Beta(a1, b1) and
// Y ~ Beta(a2, b2). When one parameter is a whole number (always so for
// whole counts and the default Beta(1, 1) prior) it is the exact finite sum
// of Evan Miller ("Formulas for Bayesian A/B testing", 2015; J. D. Cook,
// "Exact calculation of beta inequalities", 2005), summed over the smallest
// whole parameter by the symmetries P(X>Y) = 1-P(Y>X) and X -> 1-X;
// otherwise the integral of f_Y * (1 - F_X) by Gauss-Legendre quadrature
// (accurate to about 1e-6). NaN unless all parameters are positive and
// finite.
func ProbBetaGreater(a1, b1, a2, b2 float64) float64 {
	for _, v := range []float64{a1, b1, a2, b2} {
		if !(v > 0) || math.IsInf(v, 0) {
			return math.NaN()
		}
	}
	// Pick the smallest whole parameter to sum over.
	best, which := math.Inf(1), -1
	for i, v := range []float64{a1, b1, a2, b2} {
		if v == math.Trunc(v) && v <= maxBetaSumTerms && v < best {
			best, which = v, i
		}
	}
	var p float64
	switch which {
	case 0:
		p = betaGreaterSum(a1, b1, a2, b2)
	case 1: // 1-X ~ Beta(b1, a1) and 1-Y ~ Beta(b2, a2); X > Y iff 1-Y > 1-X.
		p = 1 - betaGreaterSum(b1, a1, b2, a2)
	case 2:
		p = 1 - betaGreaterSum(a2, b2, a1, b1)
	case 3:
		p = betaGreaterSum(b2, a2, b1, a1)
	default:
		p = betaGreaterQuad(a1, b1, a2, b2)
	}
	return math.Min(1, math.Max(0, p))
}

// betaGreaterSum is P(X > Y) for whole a1, term by term in log space.
func betaGreaterSum(a1, b1, a2, b2 float64) float64 {
	base := mathext.Lbeta(a2, b2)
	sum := 0.0
	for i := 0.0; i < a1; i++ {
		sum += math.Exp(mathext.Lbeta(a2+i, b1+b2) - math.Log(b1+i) - mathext.Lbeta(1+i, b1) - base)
	}
	return sum
}

// betaGreaterQuad integrates f_Y(y) P(X > y) piecewise, with break points
// at both distributions' means and a few standard deviations around them
// so that narrow posteriors get enough nodes. Where f_Y is infinite at an
// end (a2 < 1 at 0, b2 < 1 at 1) the end piece is integrated in u with
// y = r u^(1/a2) (or 1 - y = (1-l) u^(1/b2)), which cancels the power-law
// singularity exactly and leaves a smooth integrand.
func betaGreaterQuad(a1, b1, a2, b2 float64) float64 {
	x := distuv.Beta{Alpha: a1, Beta: b1}
	y := distuv.Beta{Alpha: a2, Beta: b2}
	cuts := []float64{0, 1}
	for _, d := range []distuv.Beta{x, y} {
		m, s := d.Mean(), d.StdDev()
		for _, k := range []float64{0, 1, 2, 4, 7, 12, 20, 40} {
			cuts = append(cuts, math.Min(1, math.Max(0, m-k*s)), math.Min(1, math.Max(0, m+k*s)))
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	f := func(v float64) float64 { return y.Prob(v) * x.Survival(v) }
	const nodes = 64
	total := 0.0
	for i := 1; i < len(cuts); i++ {
		l, r := cuts[i-1], cuts[i]
		switch {
		case l == 0 && a2 < 1:
			total += quad.Fixed(func(u float64) float64 {
				v := r * math.Pow(u, 1/a2)
				return f(v) * r / a2 * math.Pow(u, 1/a2-1)
			}, 0, 1, nodes, nil, 0)
		case r == 1 && b2 < 1:
			w := 1 - l
			total += quad.Fixed(func(u float64) float64 {
				v := 1 - w*math.Pow(u, 1/b2)
				return f(v) * w / b2 * math.Pow(u, 1/b2-1)
			}, 0, 1, nodes, nil, 0)
		default:
			total += quad.Fixed(f, l, r, nodes, nil, 0)
		}
	}
	return total
}

// GarivierKaufmannBound is the lower bound T*(mu) kl(delta, 1-delta) on the
// expected number of samples of any delta-correct best-arm identification
// strategy on Bernoulli arms with means mu (Garivier & Kaufmann, "Optimal
// best arm identification with fixed confidence", COLT 2016, Theorem 1).
// T*(mu) follows their characterisation of the optimal weights: for the
// best arm 1 and each other arm a, x_a(y) inverts
// g_a(x) = kl(mu1, m) + x kl(mu_a, m) with m = (mu1 + x mu_a)/(1 + x);
// y* solves sum_a kl(mu1, m_a)/kl(mu_a, m_a) = 1; then
// 1/T* = y*/(1 + sum_a x_a(y*)). +Inf when the best arm is not unique;
// NaN with fewer than two arms or means outside [0, 1].
func GarivierKaufmannBound(mu []float64, delta float64) float64 {
	if len(mu) < 2 || !(delta > 0 && delta < 1) {
		return math.NaN()
	}
	best, second := -1, math.Inf(-1)
	for i, m := range mu {
		if !(m >= 0 && m <= 1) {
			return math.NaN()
		}
		if best < 0 || m > mu[best] {
			if best >= 0 {
				second = math.Max(second, mu[best])
			}
			best = i
		} else {
			second = math.Max(second, m)
		}
	}
	mu1 := mu[best]
	if second == mu1 {
		return math.Inf(1)
	}
	others := make([]float64, 0, len(mu)-1)
	for i, m := range mu {
		if i != best {
			others = append(others, m)
		}
	}
	// g_a(x) increases from 0 to kl(mu1, mu_a); F(y) increases from 0 to
	// +Inf as y approaches kl(mu1, second).
	mix := func(ma, x float64) float64 { return (mu1 + x*ma) / (1 + x) }
	g := func(ma, x float64) float64 {
		m := mix(ma, x)
		return KLBernoulli(mu1, m) + x*KLBernoulli(ma, m)
	}
	xOf := func(ma, y float64) float64 {
		hi := 1.0
		for g(ma, hi) < y && hi < 1e300 {
			hi *= 2
		}
		return bisect(func(x float64) bool { return g(ma, x) < y }, 0, hi)
	}
	F := func(y float64) float64 {
		s := 0.0
		for _, ma := range others {
			m := mix(ma, xOf(ma, y))
			s += KLBernoulli(mu1, m) / KLBernoulli(ma, m)
		}
		return s
	}
	yStar := bisect(func(y float64) bool { return F(y) < 1 }, 0, KLBernoulli(mu1, second))
	sumX := 0.0
	for _, ma := range others {
		sumX += xOf(ma, yStar)
	}
	tStar := (1 + sumX) / yStar
	return tStar * KLBernoulli(delta, 1-delta)
}

// LaiRobbinsConstant is sum over suboptimal arms a of
// (mu* - mu_a)/kl(mu_a, mu*): the regret of any uniformly good policy on
// Bernoulli arms grows at least like this constant times log T (Lai &
// Robbins, "Asymptotically efficient adaptive allocation rules", 1985).
// NaN for means outside [0, 1].
func LaiRobbinsConstant(mu []float64) float64 {
	top := math.Inf(-1)
	for _, m := range mu {
		if !(m >= 0 && m <= 1) {
			return math.NaN()
		}
		top = math.Max(top, m)
	}
	c := 0.0
	for _, m := range mu {
		if m < top {
			c += (top - m) / KLBernoulli(m, top)
		}
	}
	return c
}

// bisect returns the boundary in [lo, hi] of a predicate that holds below
// it and fails above it, to floating-point resolution.
func bisect(below func(float64) bool, lo, hi float64) float64 {
	for range 200 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if below(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}
