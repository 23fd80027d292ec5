package plan

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/pkg/experiment"
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

// The Service's past candidates (ETAOptions.Past). Jeffreys' H₁ spreads
// over every rate, so one error in 50 requests is no likelier under it
// than at the baseline's 0.2%, and P(H₀) stays near 0.7 for a candidate
// whose errors already run at 2%: its ETA is a good candidate's, long. A
// Service that has had canaries knows more: what its bad candidates'
// error rates were. With K past candidates, each with s_k errors in n_k
// requests, the candidate is a priori new (the point null and H₁ above)
// with probability 1/(K+1), or like past candidate k, its rate from
// Beta(s_k+½, n_k−s_k+½) (what k's own data gave under Jeffreys' prior),
// with 1/(K+1) each: the Service's own candidates are the population a
// new one is drawn from, and the fresh part keeps a candidate unlike any
// before it followable. Each part is weighed by the marginal likelihood of
// the candidate's counts under it,
//
//	fresh:  P(H₀)·B(s+s_b+½, f+f_b+½)/B(s_b+½, f_b+½) + P(H₁)·B(s+½, f+½)/B(½, ½),
//	past k: B(s+s_k+½, f+f_k+½)/B(s_k+½, f_k+½),
//
// (the binomial coefficient is common to all), and a forward run drawn
// from past k takes its candidate's rate from Beta(s+s_k+½, f+f_k+½) and
// the baseline's as under H₁. Without past candidates this is the prior
// above, draw for draw.

// canaryNull is the prior probability of H₀.
const canaryNull = 0.5

// canaryRates is the posterior of a canary's two rates.
type canaryRates struct {
	// null is P(H₀ | data) within the fresh part.
	null float64
	// pooled is the shared rate's Beta under H₀; base and cand are the
	// baseline's and the candidate's under H₁.
	pooled, base, cand distuv.Beta
	// fresh is P(the candidate is new | data): 1 without past candidates;
	// like[k] is P(like past candidate k | data), and past[k] the
	// candidate's rate then.
	fresh float64
	like  []float64
	past  []distuv.Beta
}

// newCanaryRates is the posterior after the candidate's s successes in n
// trials and the baseline's sb in nb, given the Service's past candidates.
func newCanaryRates(s, n, sb, nb float64, past []experiment.Count) canaryRates {
	f, fb := n-s, nb-sb
	logH0 := mathext.Lbeta(s+sb+0.5, f+fb+0.5) - mathext.Lbeta(sb+0.5, fb+0.5)
	logH1 := mathext.Lbeta(s+0.5, f+0.5) - mathext.Lbeta(0.5, 0.5)
	odds := logH0 - logH1 + math.Log(canaryNull/(1-canaryNull))
	c := canaryRates{
		null:   1 / (1 + math.Exp(-odds)),
		pooled: distuv.Beta{Alpha: s + sb + 0.5, Beta: f + fb + 0.5},
		base:   distuv.Beta{Alpha: sb + 0.5, Beta: fb + 0.5},
		cand:   distuv.Beta{Alpha: s + 0.5, Beta: f + 0.5},
		fresh:  1,
	}
	if len(past) == 0 {
		return c
	}
	logM := []float64{floats.LogSumExp([]float64{math.Log(canaryNull) + logH0, math.Log(1-canaryNull) + logH1})}
	for _, p := range past {
		a, b := p.Successes+0.5, p.Trials-p.Successes+0.5
		logM = append(logM, mathext.Lbeta(s+a, f+b)-mathext.Lbeta(a, b))
		c.past = append(c.past, distuv.Beta{Alpha: s + a, Beta: f + b})
	}
	total := floats.LogSumExp(logM)
	c.fresh = math.Exp(logM[0] - total)
	for _, l := range logM[1:] {
		c.like = append(c.like, math.Exp(l-total))
	}
	return c
}

// draw is the baseline's and the candidate's rates of one forward run.
func (c canaryRates) draw(rng *rand.Rand) (base, cand float64) {
	if len(c.like) > 0 {
		if u := rng.Float64() - c.fresh; u >= 0 {
			b, p := c.base, c.past[pick(c.like, u)]
			b.Src, p.Src = rng, rng
			return b.Rand(), p.Rand()
		}
	}
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

// pastCounts are the past candidates' counts of metric, oldest first.
func pastCounts(past []experiment.Past, metric string) []experiment.Count {
	var out []experiment.Count
	for _, p := range past {
		if c, ok := p.Ratios[metric]; ok {
			out = append(out, c)
		}
	}
	return out
}
