package plan

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// A canary candidate's ratio metric (an error rate) is drawn for the ETA
// from its posterior under Jeffreys' prior for the test of a point null:
// a new version is a priori as likely as not to have exactly the
// baseline's rate (H₀, probability ½), and otherwise has any rate (H₁,
// Jeffreys' Beta(½, ½) for each version); under H₀ the shared rate is
// Beta(½, ½) too. With s errors and f other requests, the Bayes factor is
//
//	BF₀₁ = B(s_b+s_c+½, f_b+f_c+½) · B(½, ½) / [B(s_b+½, f_b+½) · B(s_c+½, f_c+½)],
//
// P(H₀ | data) = BF₀₁/(1 + BF₀₁), and each forward run draws H₀ or H₁ by
// it, then the rates: under H₀ one rate for both versions from
// Beta(s_b+s_c+½, f_b+f_c+½), under H₁ each its own from Beta(s+½, f+½).
//
// Why. The candidate's own estimate after a few requests without an error
// is 0, and forward runs at 0 never see one: the ETA was too short early
// in a run (31% of canary-good's runs decided before it at a quarter of
// the median duration, against 50%). Its own posterior (H₁ alone) has
// its mean (s+½)/(n+1) above a 1% limit until n = 49, and draws close to
// the limit, where a forward run crawls: the spread was hours wide for a
// clearly good candidate. A prior that shrinks the candidate toward the
// baseline, whose rate the data measure well (it serves most of the
// traffic), is what "a new version is a priori like the baseline" means;
// a continuous one (a Beta or Cauchy centred on the baseline's rate) puts
// much of its mass near the baseline but not on it, and the request
// counts of a canary's first windows cannot tell 0.2% from 0.5%, so a
// good candidate's draws still reached the limit's crawl zone (a Cauchy
// with quartiles at half and twice the baseline's odds put 20% of them
// there). The point null keeps its mass exactly on the baseline's rate
// until the data contradict it: a candidate with no error in 20 requests
// against a baseline at 0.2% keeps P(H₀) ≈ 0.9; one error in 15 requests
// gives 0.3, and three errors in 40 give 0.003, so a bad candidate is
// followed as soon as its errors show it.
//
// The baseline's counts are its experiment data plus, when the caller has
// them, its history before the start (ETAOptions.Baseline, read from
// Prometheus): the rate H₀ borrows is then known from the hour the
// baseline served alone, not from the few hundred requests of a canary's
// first windows, where one error in 150 puts the shared rate above a 1%
// limit.

// canaryNull is the prior probability of H₀.
const canaryNull = 0.5

// canaryRates is the posterior of a canary's two rates.
type canaryRates struct {
	// null is P(H₀ | data).
	null float64
	// pooled is the shared rate's Beta under H₀; base and cand are the
	// baseline's and the candidate's under H₁.
	pooled, base, cand distuv.Beta
}

// newCanaryRates is the posterior after the candidate's s successes in n
// trials and the baseline's sb in nb.
func newCanaryRates(s, n, sb, nb float64) canaryRates {
	f, fb := n-s, nb-sb
	logBF := mathext.Lbeta(s+sb+0.5, f+fb+0.5) + mathext.Lbeta(0.5, 0.5) -
		mathext.Lbeta(sb+0.5, fb+0.5) - mathext.Lbeta(s+0.5, f+0.5)
	odds := logBF + math.Log(canaryNull/(1-canaryNull))
	return canaryRates{
		null:   1 / (1 + math.Exp(-odds)),
		pooled: distuv.Beta{Alpha: s + sb + 0.5, Beta: f + fb + 0.5},
		base:   distuv.Beta{Alpha: sb + 0.5, Beta: fb + 0.5},
		cand:   distuv.Beta{Alpha: s + 0.5, Beta: f + 0.5},
	}
}

// draw is the baseline's and the candidate's rates of one forward run.
func (c canaryRates) draw(rng *rand.Rand) (base, cand float64) {
	if rng.Float64() < c.null {
		p := c.pooled
		p.Src = rng
		x := p.Rand()
		return x, x
	}
	b, k := c.base, c.cand
	b.Src, k.Src = rng, rng
	return b.Rand(), k.Rand()
}
