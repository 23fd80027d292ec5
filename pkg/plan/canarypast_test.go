package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/pkg/experiment"
)

// The Service's last eight canaries as PastCanaries leaves them after
// canary-bad-errors and canary-good in turn (seed 21): the bad
// candidates rolled back after a few errors, the good ones promoted.
var pastEight = []experiment.Count{
	{Successes: 9, Trials: 188}, {Successes: 6, Trials: 1722}, {Successes: 6, Trials: 56}, {Successes: 1, Trials: 1222},
	{Successes: 7, Trials: 90}, {Successes: 1, Trials: 843}, {Successes: 5, Trials: 55}, {Successes: 1, Trials: 787},
}

// The weights of the fresh part and of each past candidate against the
// marginal likelihoods integrated numerically: the fresh part's is
// P(H₀)·(the candidate's counts at H₀'s shared rate, given the
// baseline's) + P(H₁)·(at a Jeffreys rate of its own), past k's at a rate
// from Beta(s_k+½, f_k+½).
func TestCanaryPastAgainstQuadrature(t *testing.T) {
	sb, nb := 20.0, 10000.0
	past := pastEight[:3]
	for _, c := range []struct{ s, n float64 }{{0, 5}, {1, 23}, {1, 50}, {4, 60}, {0, 300}} {
		lik := func(p float64) float64 { return math.Pow(p, c.s) * math.Pow(1-p, c.n-c.s) }
		// ∫ lik(p) Beta(p; a, b) dp, by p = sin²(θ), dp = 2 sinθ cosθ dθ.
		marginal := func(a, b float64) float64 {
			d := distuv.Beta{Alpha: a, Beta: b}
			return quad.Fixed(func(th float64) float64 {
				p := math.Pow(math.Sin(th), 2)
				if p <= 0 || p >= 1 {
					return 0
				}
				return lik(p) * d.Prob(p) * 2 * math.Sin(th) * math.Cos(th)
			}, 0, math.Pi/2, 4000, nil, 0)
		}
		// H₀'s shared rate given the baseline's counts is Beta(sb+½, fb+½).
		m := []float64{canaryNull*marginal(sb+0.5, nb-sb+0.5) + (1-canaryNull)*marginal(0.5, 0.5)}
		for _, p := range past {
			m = append(m, marginal(p.Successes+0.5, p.Trials-p.Successes+0.5))
		}
		total := 0.0
		for _, x := range m {
			total += x
		}
		got := newCanaryRates(c.s, c.n, sb, nb, past)
		if want := m[0] / total; math.Abs(got.fresh-want) > 1e-4 {
			t.Errorf("%v errors in %v: P(fresh) %v, want %v", c.s, c.n, got.fresh, want)
		}
		for k := range past {
			if want := m[k+1] / total; math.Abs(got.like[k]-want) > 1e-4 {
				t.Errorf("%v errors in %v: P(like past %d) %v, want %v", c.s, c.n, k, got.like[k], want)
			}
		}
		// The fresh part keeps its own P(H₀): the prior without a past.
		if alone := newCanaryRates(c.s, c.n, sb, nb, nil); got.null != alone.null || alone.fresh != 1 || alone.like != nil {
			t.Errorf("%v errors in %v: P(H0) %v with a past, %v without; without: fresh %v, like %v", c.s, c.n, got.null, alone.null, alone.fresh, alone.like)
		}
	}
}

// A forward run's candidate rate is drawn from the mixture: its mean over
// many draws is the mixture's mean in closed form, the fresh part's
// (P(H₀)·E[shared rate] + P(H₁)·E[its own]) and each past part's
// posterior mean, weighed by their probabilities.
func TestCanaryPastDraws(t *testing.T) {
	for _, c := range []struct{ s, n float64 }{{1, 50}, {0, 23}, {3, 40}} {
		r := newCanaryRates(c.s, c.n, 20, 10000, pastEight)
		want := r.fresh * (r.null*r.pooled.Mean() + (1-r.null)*r.cand.Mean())
		v := r.fresh * (r.null*(r.pooled.Variance()+sq(r.pooled.Mean())) + (1-r.null)*(r.cand.Variance()+sq(r.cand.Mean())))
		for k, w := range r.like {
			want += w * r.past[k].Mean()
			v += w * (r.past[k].Variance() + sq(r.past[k].Mean()))
		}
		rng := rand.New(rand.NewPCG(8, 9))
		const n = 40000
		sum := 0.0
		for range n {
			_, k := r.draw(rng)
			sum += k
		}
		if got, sd := sum/n, math.Sqrt((v-want*want)/n); math.Abs(got-want) > 4*sd {
			t.Errorf("%v errors in %v: mean candidate rate %v, want %v ± %v", c.s, c.n, got, want, 4*sd)
		}
	}
}

func sq(x float64) float64 { return x * x }

// What docs/planning.md says of it, with pastEight (half its candidates
// bad): one error in 50 requests makes the candidate like a past bad one
// with probability about ½, where the default prior gives H₁ 0.3; no
// error in 23 leaves it like a good one or the baseline (at most 0.2 on
// the bad ones), and three errors in 40 make it a bad one, its rate then
// near theirs.
func TestCanaryPastFollowsTheErrors(t *testing.T) {
	bad := func(r canaryRates) float64 {
		p := 0.0
		for k, w := range r.like {
			if c := pastEight[k]; c.Successes/c.Trials > 0.01 {
				p += w
			}
		}
		return p
	}
	for _, c := range []struct {
		s, n   float64
		lo, hi float64
	}{{1, 50, 0.4, 0.6}, {0, 23, 0, 0.2}, {3, 40, 0.9, 1}} {
		if got := bad(newCanaryRates(c.s, c.n, 20, 10000, pastEight)); got < c.lo || got > c.hi {
			t.Errorf("%v errors in %v: P(like a past bad candidate) %v, want in [%v, %v]", c.s, c.n, got, c.lo, c.hi)
		}
	}
}
