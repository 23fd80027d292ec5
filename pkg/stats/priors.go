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
	// the metric's units squared.
	MeanMu0, MeanKappa0, MeanAlpha0, MeanBeta0 float64
	// QuantileAlpha is the Dirichlet concentration added to every bucket of
	// a Quantile metric.
	QuantileAlpha float64
}

// DefaultPriors returns the documented weak priors: Beta(1, 1) (uniform)
// for ratios; for means a nearly flat prior on the mean (Kappa0 = 1e-6, i.e.
// a millionth of an observation) and, on the variance, one pseudo-observation
// of unit variance (Alpha0 = Beta0 = 1/2), which keeps the posterior proper
// with zero or one observation and with zero spread; Dirichlet(1/2, ..., 1/2)
// (Jeffreys) over histogram buckets.
func DefaultPriors() Priors {
	return Priors{
		RatioA: 1, RatioB: 1,
		MeanMu0: 0, MeanKappa0: 1e-6, MeanAlpha0: 0.5, MeanBeta0: 0.5,
		QuantileAlpha: 0.5,
	}
}

func (pr Priors) validate() error {
	positive := []struct {
		name string
		v    float64
	}{
		{"RatioA", pr.RatioA}, {"RatioB", pr.RatioB},
		{"MeanKappa0", pr.MeanKappa0}, {"MeanAlpha0", pr.MeanAlpha0},
		{"MeanBeta0", pr.MeanBeta0}, {"QuantileAlpha", pr.QuantileAlpha},
	}
	for _, f := range positive {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("prior %s = %v: must be positive and finite", f.name, f.v)
		}
	}
	if math.IsNaN(pr.MeanMu0) || math.IsInf(pr.MeanMu0, 0) {
		return fmt.Errorf("prior MeanMu0 = %v: must be finite", pr.MeanMu0)
	}
	return nil
}

// priorsOf returns the problem's priors or the defaults.
func priorsOf(p Problem) Priors {
	if p.Priors == nil {
		return DefaultPriors()
	}
	return *p.Priors
}
