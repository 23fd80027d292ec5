package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// This file holds the best-version test for Ratio rewards: a mixture
// e-process in the manner of sequential universal inference (Wasserman,
// Ramdas & Balakrishnan, "Universal inference", PNAS 117(29), 2020, §7;
// Robbins' method of mixtures). For a leader a and a rival b,
//
//	M_ab = m(a) m(b) / sup_{p_a <= p_b} L(p_a, p_b)
//
// where m(v) is version v's Beta-Bernoulli marginal likelihood (the prior
// predictive of its sequence of outcomes) and L the Bernoulli likelihood of
// both. For every (p_a, p_b) with p_a <= p_b, M_ab is at most
// m(a)m(b)/L(p_a, p_b), a likelihood ratio of a mixture against a point of
// the null: a nonnegative martingale of mean one under that point, also
// when traffic is allocated adaptively from past data. By Ville's
// inequality, a worse (or equal) version a ever reaches M_ab >= 1/x with
// probability at most x, however often it is checked.
//
// Against the GLR with Kaufmann & Koolen's threshold (bestarm.go), which is
// also valid, the price of peeking here is the mixture's Occam factor,
// about ½ ln N per version, instead of 2T(ln(P/δ)/2) + 3 ln(1+ln N) per
// version: at δ = 0.05 and 10,000 requests a version, about 13 nats of
// evidence are needed instead of about 34, so the same decision comes with
// about a third of the samples.

// logEvidenceRatio returns ln M_ab for Ratio data a (the leader) and b,
// with the Beta(pa, pb) prior. When a's rate is not above b's the null's
// supremum is at a's and b's own rates and ln M_ab <= 0.
func logEvidenceRatio(a, b Data, pa, pb float64) float64 {
	marginal := func(d Data) float64 {
		return mathext.Lbeta(pa+d.Successes, pb+d.Trials-d.Successes) - mathext.Lbeta(pa, pb)
	}
	ha, hb := a.Successes/a.Trials, b.Successes/b.Trials
	if ha <= hb {
		return marginal(a) + marginal(b) - bernoulliLogLik(a, ha) - bernoulliLogLik(b, hb)
	}
	pool := (a.Successes + b.Successes) / (a.Trials + b.Trials)
	return marginal(a) + marginal(b) - bernoulliLogLik(a, pool) - bernoulliLogLik(b, pool)
}

// bernoulliLogLik is s ln p + f ln(1-p), with 0 ln 0 = 0.
func bernoulliLogLik(d Data, p float64) float64 {
	s, f := d.Successes, d.Trials-d.Successes
	var ll float64
	if s > 0 {
		ll += s * math.Log(p)
	}
	if f > 0 {
		ll += f * math.Log1p(-p)
	}
	return ll
}

// BestArmEvidence is the level a Ratio leader's evidence against each rival
// must reach: ln(P/δ) with P the number of pairs of versions, so that a
// false Best, which needs some truly-not-better version to beat a truly
// better one, happens with probability at most δ in all.
func BestArmEvidence(versions int, delta float64) float64 {
	pairs := float64(versions) * float64(versions-1) / 2
	return math.Log(math.Max(1, pairs) / delta)
}
