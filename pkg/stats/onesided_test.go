package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
)

// TestOneSidedLogEQuadrature checks the closed form against the mixture's
// definition by quadrature, including counts whose tail 1 − I would round
// to zero in double precision.
func TestOneSidedLogEQuadrature(t *testing.T) {
	for _, tc := range []struct{ s, n, l float64 }{
		{0, 50, 0.01}, {3, 100, 0.01}, {30, 1000, 0.01}, {2, 2000, 0.01}, {60, 200, 0.2}, {500, 1000, 0.9},
	} {
		for _, above := range []bool{true, false} {
			lo, hi := 0.0, tc.l
			if above {
				lo, hi = tc.l, 1
			}
			ref := bernoulliLogLik(Data{Successes: tc.s, Trials: tc.n}, tc.l)
			// Integrate the ratio to the limit's likelihood, scaled to stay finite.
			phat := math.Min(math.Max(tc.s/tc.n, lo), hi)
			scale := bernoulliLogLik(Data{Successes: tc.s, Trials: tc.n}, phat)
			v := quad.Fixed(func(q float64) float64 {
				return math.Exp(bernoulliLogLik(Data{Successes: tc.s, Trials: tc.n}, q) - scale)
			}, lo, hi, 4000, nil, 0)
			want := math.Log(v/(hi-lo)) + scale - ref
			if got := oneSidedLogE(tc.s, tc.n, tc.l, above); math.Abs(got-want) > 1e-3*math.Max(1, math.Abs(want)) {
				t.Errorf("%+v above=%v: ln E = %.6f, quadrature %.6f", tc, above, got, want)
			}
		}
	}
}

// TestRateVerdictErrors checks each verdict's error by simulation at
// fixed true rates on the wrong side of the limit, looking after every
// window of 25 requests: at p = L an upper limit holds, so "Violated" is
// an error; at p = 1.05 L it fails, so "Satisfied" is. Each must happen in
// at most alpha of the streams (3-sigma allowance).
func TestRateVerdictErrors(t *testing.T) {
	const alpha, streams, n, limit = 0.05, 1500, 4000, 0.05
	for _, tc := range []struct {
		name  string
		p     float64
		wrong Verdict
	}{{"violated at p = L", limit, Violated}, {"satisfied at p = 1.05 L", 1.05 * limit, Satisfied}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 1))
			errs := 0
			for range streams {
				s := 0.0
				for i := 1; i <= n; i++ {
					if rng.Float64() < tc.p {
						s++
					}
					if i%25 == 0 && rateVerdict(s, float64(i), limit, true, alpha) == tc.wrong {
						errs++
						break
					}
				}
			}
			rate := float64(errs) / streams
			t.Logf("%s: error %.4f (alpha %v)", tc.name, rate, alpha)
			if bound := alpha + 3*math.Sqrt(alpha*(1-alpha)/streams); rate > bound {
				t.Errorf("error %.4f > %.4f", rate, bound)
			}
		})
	}
}

// TestRateVerdictFasterThanCS: at p = L/5 the one-sided verdict shows
// "Satisfied" with fewer requests than the two-sided Beta(1, 1) sequence.
func TestRateVerdictFasterThanCS(t *testing.T) {
	first := func(f func(s, n float64) bool) float64 {
		for n := 10.0; n < 1e6; n += 10 {
			if f(math.Round(n*0.002), n) {
				return n
			}
		}
		return math.Inf(1)
	}
	one := first(func(s, n float64) bool { return rateVerdict(s, n, 0.01, true, 0.025) == Satisfied })
	two := first(func(s, n float64) bool { _, hi := BetaBinomialCS(s, n, 1, 1, 0.025); return hi <= 0.01 })
	t.Logf("p = 0.002 vs limit 0.01 at alpha 0.025: one-sided %v requests, two-sided CS %v", one, two)
	if !(one < two) {
		t.Errorf("one-sided needs %v requests, two-sided %v", one, two)
	}
}
