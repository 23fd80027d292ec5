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
