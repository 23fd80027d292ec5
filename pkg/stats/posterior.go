package stats

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// This file holds the Bayesian models users read: conjugate posteriors for
// Ratio and Mean metrics and a Dirichlet posterior over histogram buckets
// for Quantile metrics.

// ratioPosterior is the Beta posterior of a Ratio metric.
func ratioPosterior(d Data, pr Priors) distuv.Beta {
	return distuv.Beta{Alpha: pr.RatioA + d.Successes, Beta: pr.RatioB + d.Trials - d.Successes}
}

// studentT is the marginal posterior of the mean under the
// Normal-Inverse-Gamma model: a location-scale Student-t.
type studentT struct{ loc, scale, nu float64 }

// meanPosterior is the conjugate update of the Normal-Inverse-Gamma prior
// of MeanPriorFor (Murphy, "Conjugate Bayesian analysis of the Gaussian
// distribution", 2007): kappa_n = kappa0 + n, mu_n = (kappa0 mu0 + n
// xbar)/kappa_n, alpha_n = alpha0 + n/2,
// beta_n = beta0 + M2/2 + kappa0 n (xbar - mu0)²/(2 kappa_n);
// the mean is t with 2 alpha_n degrees of freedom, location mu_n and scale
// sqrt(beta_n/(alpha_n kappa_n)). Every term is positive with the prior's
// positive parameters, so no data, one observation or zero spread still give
// a proper, finite posterior.
func meanPosterior(d Data, pr Priors) studentT {
	mp := pr.MeanPriorFor(d)
	n := d.Count
	kn := mp.Kappa0 + n
	diff := d.Mu - mp.Mu0
	an := mp.Alpha0 + n/2
	bn := mp.Beta0 + d.M2/2 + mp.Kappa0*(n/kn)*diff*diff/2
	return studentT{
		loc:   mp.Mu0 + (n/kn)*diff,
		scale: math.Sqrt(bn / (an * kn)),
		nu:    2 * an,
	}
}

// MeanPosterior is the marginal posterior of a Mean metric's mean under
// the priors pr: a Student-t with nu degrees of freedom, location loc and
// scale. Callers that draw it (the report) use it rather than repeating the
// conjugate update.
func MeanPosterior(d Data, pr Priors) (loc, scale, nu float64) {
	t := meanPosterior(d, pr)
	return t.loc, t.scale, t.nu
}

// normalNu is where the t quantile becomes the normal one: gonum's
// incomplete-beta inversion loses accuracy for astronomically many degrees
// of freedom, and beyond 1e6 the two differ by less than 1e-5 relative.
const normalNu = 1e6

// interval is the equal-tailed credible interval at level conf.
func (t studentT) interval(conf float64) (lo, hi float64) {
	p := 1 - (1-conf)/2
	var z float64
	if t.nu > normalNu {
		z = distuv.UnitNormal.Quantile(p)
	} else {
		z = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: t.nu}.Quantile(p)
	}
	return t.loc - z*t.scale, t.loc + z*t.scale
}

func (t studentT) rand(src rand.Source) float64 {
	return t.loc + t.scale*distuv.StudentsT{Mu: 0, Sigma: 1, Nu: t.nu, Src: src}.Rand()
}

// quantileSampler draws the q-quantile of a histogram's distribution under
// the Dirichlet posterior of its bucket masses. A draw of the masses is
// turned into a quantile by linear interpolation inside the bucket where the
// cumulative mass reaches q. The first bucket starts at 0 when the first
// bound is positive (latencies, sizes) and at -Inf otherwise; the overflow
// bucket above the last bound ends at +Inf. Draws landing in an unbounded
// bucket take its infinite edge, which is the honest answer ("beyond the
// histogram") and conservative for upper limits.
//
// Only buckets that can plausibly hold the quantile are drawn one by one;
// the buckets below and above are drawn as two aggregated Gamma variates
// and split lazily in the rare draw whose quantile falls among them. By the
// aggregation property of the Dirichlet (a group's total is independent of
// the proportions inside it) this is exact, not an approximation; it only
// saves time.
type quantileSampler struct {
	q              float64
	alpha          []float64 // posterior concentration per bucket
	lo, hi         []float64 // bucket edges
	w0, w1         int       // the individually drawn window, inclusive
	aBelow, aAbove float64   // concentrations of the aggregated groups
	g              []float64 // scratch Gamma variates
}

// windowSDs is how many posterior standard deviations of a bucket edge's
// cumulative mass the window spans on each side of q.
const windowSDs = 4

func newQuantileSampler(bounds, counts []float64, q, prior float64) *quantileSampler {
	k := len(bounds) + 1
	s := &quantileSampler{
		q:     q,
		alpha: make([]float64, k),
		lo:    make([]float64, k),
		hi:    make([]float64, k),
		g:     make([]float64, k),
	}
	total := 0.0
	for j := range k {
		s.alpha[j] = prior
		if j < len(counts) {
			s.alpha[j] += counts[j]
		}
		total += s.alpha[j]
		if j < len(bounds) {
			s.hi[j] = bounds[j]
		} else {
			s.hi[j] = math.Inf(1)
		}
		switch {
		case j > 0:
			s.lo[j] = bounds[j-1]
		case len(bounds) > 0 && bounds[0] > 0:
			s.lo[j] = 0
		default:
			s.lo[j] = math.Inf(-1)
		}
	}
	// The cumulative mass F_j up to bucket j is Beta(C_j, A - C_j).
	s.w0, s.w1 = -1, k-1
	cum := 0.0
	for j := range k {
		cum += s.alpha[j]
		m := cum / total
		sd := math.Sqrt(m * (1 - m) / (total + 1))
		if s.w0 < 0 && m+windowSDs*sd >= q {
			s.w0 = j
		}
		if s.w0 >= 0 && m-windowSDs*sd >= q {
			s.w1 = j
			break
		}
	}
	if s.w0 < 0 {
		s.w0 = k - 1
	}
	for j := range s.w0 {
		s.aBelow += s.alpha[j]
	}
	for j := s.w1 + 1; j < k; j++ {
		s.aAbove += s.alpha[j]
	}
	return s
}

func gammaRand(a float64, src rand.Source) float64 {
	if a == 0 {
		return 0
	}
	return distuv.Gamma{Alpha: a, Beta: 1, Src: src}.Rand()
}

// rand draws one posterior quantile. Bucket masses are Gamma variates
// normalised by their total (the standard Dirichlet construction); the
// quantile is found in unnormalised units, target = q x total.
func (s *quantileSampler) rand(src rand.Source) float64 {
	below := gammaRand(s.aBelow, src)
	total := below
	for j := s.w0; j <= s.w1; j++ {
		s.g[j] = gammaRand(s.alpha[j], src)
		total += s.g[j]
	}
	above := gammaRand(s.aAbove, src)
	total += above
	target := s.q * total
	if target <= below && s.w0 > 0 {
		return s.split(0, s.w0-1, below, 0, target, src)
	}
	cum := below
	for j := s.w0; j <= s.w1; j++ {
		if cum+s.g[j] >= target {
			return s.interpolate(j, cum, s.g[j], target)
		}
		cum += s.g[j]
	}
	if s.w1+1 < len(s.alpha) {
		return s.split(s.w1+1, len(s.alpha)-1, above, cum, target, src)
	}
	return s.interpolate(s.w1, cum-s.g[s.w1], s.g[s.w1], target)
}

// split draws the proportions inside an aggregated group [from, to] whose
// total is groupTotal and locates the target in it.
func (s *quantileSampler) split(from, to int, groupTotal, cum, target float64, src rand.Source) float64 {
	sum := 0.0
	for j := from; j <= to; j++ {
		s.g[j] = gammaRand(s.alpha[j], src)
		sum += s.g[j]
	}
	scale := groupTotal / sum
	for j := from; j <= to; j++ {
		gj := s.g[j] * scale
		if cum+gj >= target || j == to {
			return s.interpolate(j, cum, gj, target)
		}
		cum += gj
	}
	panic("unreachable")
}

func (s *quantileSampler) interpolate(j int, cum, mass, target float64) float64 {
	lo, hi := s.lo[j], s.hi[j]
	if math.IsInf(hi, 1) || math.IsInf(lo, -1) {
		if math.IsInf(hi, 1) {
			return hi
		}
		return lo
	}
	frac := 1.0
	if mass > 0 {
		frac = math.Min(1, math.Max(0, (target-cum)/mass))
	}
	return lo + frac*(hi-lo)
}
