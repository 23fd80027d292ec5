package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// This file holds the anytime-valid confidence sequences (CS) the decisions
// act on: sequences of intervals that contain the true value at every time
// simultaneously with probability at least 1 - alpha, so they may be
// checked after every window ("peeking") without inflating the error.

const (
	// minSamples is the fewest observations of a version before an exact
	// CS (Beta-Binomial, quantile) may decide: a few observations would
	// rarely decide anyway, and the floor keeps decisions from resting on
	// a handful of early requests.
	minSamples = 10
	// minAsymptoticSamples is the fewest observations before an
	// asymptotic CS (means, relative ratios, Gaussian GLR) may decide. The
	// Gaussian approximation behind it is poor in the far tails for small
	// samples of skewed data (the sample mean and variance are then
	// correlated); in simulations with exponential data, starting at 30
	// observations missed the true mean in 0.45% of streams at a nominal
	// 0.1%, starting at 100 in 0.35%.
	minAsymptoticSamples = 100
	// tuneN is the number of observations per version at which the
	// asymptotic CS is tightest (its rho is tuned there); the CS stays
	// valid at every n, only slightly wider away from tuneN.
	tuneN = 1000
)

// betaBinomial is the mixture martingale of a Bernoulli stream against a
// Beta(a, b) mixing prior. For a hypothesised mean p,
//
//	M(p) = m / L(p),  L(p) = p^s (1-p)^(n-s),  m = B(a+s, b+n-s)/B(a, b),
//
// where m is the Beta-Binomial marginal likelihood. Under p, M is a
// nonnegative martingale with M = 1 before any data (Robbins' method of
// mixtures; equivalently the prior-posterior ratio martingale of
// Waudby-Smith & Ramdas, "Confidence sequences for sampling without
// replacement", NeurIPS 2020), so by Ville's inequality the set
// {p : M(p) < 1/alpha} = {p : L(p) > alpha m} is a (1-alpha) CS.
// log M(p) is computed as slack + n kl(phat, p), with
// slack = log m - log L(phat) <= 0, which stays accurate for huge counts.
type betaBinomial struct {
	n, phat, slack float64
}

func newBetaBinomial(successes, trials, a, b float64) betaBinomial {
	if !(trials > 0) {
		return betaBinomial{}
	}
	f := trials - successes
	phat := successes / trials
	logm := mathext.Lbeta(a+successes, b+f) - mathext.Lbeta(a, b)
	logLhat := 0.0
	if successes > 0 {
		logLhat += successes * math.Log(phat)
	}
	if f > 0 {
		logLhat += f * math.Log1p(-phat)
	}
	return betaBinomial{n: trials, phat: phat, slack: math.Min(0, logm-logLhat)}
}

// rejects reports whether p lies outside the (1-alpha) CS.
func (bb betaBinomial) rejects(p, alpha float64) bool {
	if bb.n == 0 {
		return false
	}
	return bb.slack+bb.n*KLBernoulli(bb.phat, p) >= -math.Log(alpha)
}

// interval returns the CS ends by bisection on the concave log-likelihood.
func (bb betaBinomial) interval(alpha float64) (lo, hi float64) {
	if bb.n == 0 {
		return 0, 1
	}
	r := -math.Log(alpha) - bb.slack
	lo, hi = 0, 1
	if bb.phat > 0 {
		lo = bisect(func(p float64) bool { return bb.n*KLBernoulli(bb.phat, p) >= r }, 0, bb.phat)
	}
	if bb.phat < 1 {
		hi = bisect(func(p float64) bool { return bb.n*KLBernoulli(bb.phat, p) < r }, bb.phat, 1)
	}
	return lo, hi
}

// BetaBinomialCS is the (1-alpha) confidence sequence for a Bernoulli mean
// after successes in trials, from the Beta(a, b)-mixture martingale
// (see betaBinomial). It is exact: valid at every sample size, however
// often evaluated. No data gives [0, 1].
func BetaBinomialCS(successes, trials, a, b, alpha float64) (lo, hi float64) {
	return newBetaBinomial(successes, trials, a, b).interval(alpha)
}

// asymptoticRadius is the half-width of the asymptotic CS of Waudby-Smith,
// Arbour, Sinha, Kennedy & Ramdas ("Time-uniform central limit theory and
// asymptotic confidence sequences", Ann. Statist. 2024; their
// Gaussian-mixture asymptotic CS for a mean):
//
//	sigma * sqrt( 2(t rho² + 1)/(t² rho²) * log( sqrt(t rho² + 1)/alpha ) )
//
// for t observations of standard deviation sigma. rho only trades width
// between sample sizes; rho² = (-2 log alpha + log(-2 log alpha + 1))/tuneT
// makes the CS (approximately) tightest at t = tuneT, as the paper suggests.
func asymptoticRadius(sigma, t, alpha, tuneT float64) float64 {
	l := -2 * math.Log(alpha)
	rho2 := (l + math.Log(l+1)) / tuneT
	tr := t*rho2 + 1
	return sigma * math.Sqrt(2*tr/(t*t*rho2)*math.Log(math.Sqrt(tr)/alpha))
}

// meanVariance is the per-observation variance the asymptotic CS uses: the
// sample variance with the prior's pseudo-observations of variance
// Beta0/Alpha0 (MeanPriorFor) pooled in, (M2 + 2 beta0)/(n - 1 + 2 alpha0).
// It is asymptotically the sample variance (so the guarantee is unchanged)
// but a run of identical values cannot collapse the CS to a point; with the
// scale-free default it is exactly the sample variance once there is spread.
func meanVariance(d Data, pr Priors) float64 {
	mp := pr.MeanPriorFor(d)
	return (d.M2 + 2*mp.Beta0) / (d.Count - 1 + 2*mp.Alpha0)
}

// ratioVariance is the Bernoulli variance at the posterior mean, which
// likewise never vanishes.
func ratioVariance(d Data, pr Priors) float64 {
	p := (d.Successes + pr.RatioA) / (d.Trials + pr.RatioA + pr.RatioB)
	return p * (1 - p)
}

// DifferenceCS is the (1-alpha) asymptotic confidence sequence for
// value_v - c value_b of two independent versions' Ratio or Mean metrics:
// the two-sample form of Waudby-Smith et al. (2024, section on randomized
// experiments), i.e. the same boundary with t = n_v + n_b observations and
// per-observation variance t (s_v²/n_v + c² s_b²/n_b). It assumes traffic
// is split in roughly stable proportions; the whole line before
// minAsymptoticSamples observations of either version.
func DifferenceCS(k Kind, v, b Data, c, alpha float64, pr Priors) (lo, hi float64) {
	var nv, nb, mv, mb, sv, sb float64
	switch k {
	case Ratio:
		nv, nb = v.Trials, b.Trials
		if nv > 0 {
			mv = v.Successes / nv
		}
		if nb > 0 {
			mb = b.Successes / nb
		}
		sv, sb = ratioVariance(v, pr), ratioVariance(b, pr)
	case Mean:
		nv, nb, mv, mb = v.Count, b.Count, v.Mu, b.Mu
		if nv > 1 {
			sv = meanVariance(v, pr)
		}
		if nb > 1 {
			sb = meanVariance(b, pr)
		}
	default:
		return math.Inf(-1), math.Inf(1)
	}
	if nv < minAsymptoticSamples || nb < minAsymptoticSamples {
		return math.Inf(-1), math.Inf(1)
	}
	t := nv + nb
	sigma := math.Sqrt(t * (sv/nv + c*c*sb/nb))
	r := asymptoticRadius(sigma, t, alpha, 2*tuneN)
	d := mv - c*mb
	return d - r, d + r
}

// QuantileCS is a (1-alpha) confidence sequence for the q-quantile of a
// histogram, on the grid of its bounds. "Q <= b" holds iff F(b) >= q, a
// statement about the Bernoulli mean F(b) (the fraction of values <= b),
// so each bound gets a Beta-Binomial CS at level alpha/2: the upper end is
// the first bound whose CS lies above q, the lower end the last bound whose
// CS lies below q. Only the two bounds around the true quantile matter (a
// wrong end at any other bound implies, by monotonicity of the counts, a
// miss at one of them), hence alpha/2 each rather than a split over all
// bounds. The ends are the histogram's lower edge (see quantileSampler) and
// +Inf when nothing is known; the CS has Q in (lo, hi].
func QuantileCS(d Data, q, alpha float64, pr Priors) (lo, hi float64) {
	lo, hi = lowerEdge(d.Bounds), math.Inf(1)
	n := d.Samples(Quantile)
	if n == 0 {
		return lo, hi
	}
	cum := 0.0
	for j, b := range d.Bounds {
		cum += d.Counts[j]
		bb := newBetaBinomial(cum, n, pr.RatioA, pr.RatioB)
		if !bb.rejects(q, alpha/2) {
			continue
		}
		if bb.phat < q {
			lo = b
		} else {
			return lo, b
		}
	}
	return lo, hi
}

// lowerEdge is where a histogram's first bucket starts.
func lowerEdge(bounds []float64) float64 {
	if len(bounds) > 0 && bounds[0] > 0 {
		return 0
	}
	return math.Inf(-1)
}
