package stats

import (
	"fmt"
	"math"
)

// Priors are the weak priors of the Bayesian models. The Beta prior is also
// the mixing distribution of the Beta-Binomial confidence sequence, and the
// Normal-Inverse-Gamma variance prior regularises the variance estimate of
// the asymptotic confidence sequences; any fixed choice keeps the decisions
// valid, because validity never depends on the prior being right.
type Priors struct {
	// RatioA and RatioB are the Beta(a, b) prior of a Ratio metric.
	RatioA, RatioB float64
	// MeanMu0, MeanKappa0, MeanAlpha0 and MeanBeta0 are the
	// Normal-Inverse-Gamma prior of a Mean metric: mu | sigma² ~
	// N(Mu0, sigma²/Kappa0), sigma² ~ InvGamma(Alpha0, Beta0). Beta0 is in
	// the metric's units squared. MeanBeta0 = 0 (the default) makes the
	// prior scale-free (see MeanPriorFor): MeanMu0 is then ignored and the
	// variance's scale comes from the data, so that a metric in seconds and
	// the same metric in milliseconds get the same read-outs up to the unit.
	MeanMu0, MeanKappa0, MeanAlpha0, MeanBeta0 float64
	// QuantileAlpha is the total Dirichlet concentration of a Quantile
	// metric's prior, spread evenly over its buckets (1/(B+1) each for B
	// bounds), so that the prior weighs as one observation however many
	// buckets the histogram has.
	QuantileAlpha float64
}

// DefaultPriors returns the documented weak priors: Beta(1, 1) (uniform)
// for ratios; for means the scale-free prior of MeanPriorFor with a nearly
// flat prior on the mean (Kappa0 = 1e-6, a millionth of an observation) and
// one pseudo-observation (Alpha0 = 1/2) on the variance; a Dirichlet of
// total concentration 1 over histogram buckets.
func DefaultPriors() Priors {
	return Priors{
		RatioA: 1, RatioB: 1,
		MeanMu0: 0, MeanKappa0: 1e-6, MeanAlpha0: 0.5, MeanBeta0: 0,
		QuantileAlpha: 1,
	}
}

// MeanPrior is the Normal-Inverse-Gamma prior of one Mean metric's data, in
// the metric's units (see Priors).
type MeanPrior struct {
	Mu0, Kappa0, Alpha0, Beta0 float64
}

// MeanPriorFor returns the Normal-Inverse-Gamma prior for the data d of a
// Mean metric. With a declared MeanBeta0 > 0 it is the declared prior.
// Otherwise it is scale-free (empirical Bayes): the prior mean is centred
// on the sample mean, so the nearly flat prior adds no spurious spread, and
// the 2 Alpha0 pseudo-observations on the variance have the sample variance
// M2/(n-1). With fewer than two observations or no spread the variance's
// scale falls back to the squared sample mean (a coefficient of variation
// of 1), and to 1 only when the mean is 0 too. Every term scales with the
// data: multiplying every observation by c multiplies Mu0 by c and Beta0 by
// c², so read-outs scale by c and decisions are unchanged.
//
// With Alpha0 = 1/2 the posterior of the mean is a Student-t with n + 1
// degrees of freedom and scale s/sqrt(n + 1), s² the sample variance: the
// classical t interval to within a fraction of a percent in width.
func (pr Priors) MeanPriorFor(d Data) MeanPrior {
	if pr.MeanBeta0 > 0 {
		return MeanPrior{Mu0: pr.MeanMu0, Kappa0: pr.MeanKappa0, Alpha0: pr.MeanAlpha0, Beta0: pr.MeanBeta0}
	}
	v0 := 0.0
	if d.Count >= 2 {
		v0 = d.M2 / (d.Count - 1)
	}
	if !(v0 > 0) {
		v0 = d.Mu * d.Mu
	}
	if !(v0 > 0) {
		v0 = 1
	}
	return MeanPrior{Mu0: d.Mu, Kappa0: pr.MeanKappa0, Alpha0: pr.MeanAlpha0, Beta0: pr.MeanAlpha0 * v0}
}

func (pr Priors) validate() error {
	positive := []struct {
		name string
		v    float64
	}{
		{"RatioA", pr.RatioA}, {"RatioB", pr.RatioB},
		{"MeanKappa0", pr.MeanKappa0}, {"MeanAlpha0", pr.MeanAlpha0},
		{"QuantileAlpha", pr.QuantileAlpha},
	}
	for _, f := range positive {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("prior %s = %v: must be positive and finite", f.name, f.v)
		}
	}
	if !(pr.MeanBeta0 >= 0) || math.IsInf(pr.MeanBeta0, 0) {
		return fmt.Errorf("prior MeanBeta0 = %v: must be finite and >= 0 (0: scale-free)", pr.MeanBeta0)
	}
	if math.IsNaN(pr.MeanMu0) || math.IsInf(pr.MeanMu0, 0) {
		return fmt.Errorf("prior MeanMu0 = %v: must be finite", pr.MeanMu0)
	}
	return nil
}

// quantilePrior is the Dirichlet concentration of each bucket of a
// histogram with these bounds.
func quantilePrior(pr Priors, bounds []float64) float64 {
	return pr.QuantileAlpha / float64(len(bounds)+1)
}

// priorsOf returns the problem's priors or the defaults.
func priorsOf(p Problem) Priors {
	if p.Priors == nil {
		return DefaultPriors()
	}
	return *p.Priors
}
