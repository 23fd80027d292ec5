package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
)

// TestLogEvidenceRatioBruteForce checks ln M_ab against its definition:
// the marginals by quadrature and the null's supremum by a grid search over
// p_a <= p_b.
func TestLogEvidenceRatioBruteForce(t *testing.T) {
	for _, tc := range []struct{ sa, na, sb, nb float64 }{
		{7, 20, 3, 25}, {3, 25, 7, 20}, {0, 10, 0, 12}, {10, 10, 9, 10}, {40, 300, 25, 310},
	} {
		a := Data{Successes: tc.sa, Trials: tc.na}
		b := Data{Successes: tc.sb, Trials: tc.nb}
		marg := func(d Data) float64 {
			return math.Log(quad.Fixed(func(p float64) float64 {
				return math.Exp(bernoulliLogLik(d, p))
			}, 0, 1, 2000, nil, 0))
		}
		best := math.Inf(-1)
		const grid = 400
		for i := 0; i <= grid; i++ {
			for j := i; j <= grid; j++ {
				pa, pb := float64(i)/grid, float64(j)/grid
				if ll := bernoulliLogLik(a, pa) + bernoulliLogLik(b, pb); ll > best {
					best = ll
				}
			}
		}
		want := marg(a) + marg(b) - best
		got := logEvidenceRatio(a, b, 1, 1)
		if math.Abs(got-want) > 0.02 {
			t.Errorf("%+v: ln M = %.4f, brute force %.4f", tc, got, want)
		}
		if tc.sa/tc.na <= tc.sb/tc.nb && got > 1e-9 {
			t.Errorf("%+v: a leader no better than its rival has evidence %.4f > 0", tc, got)
		}
	}
}

// TestEvidenceNeedsFewerSamplesThanGLR shows why the e-process replaced the
// GLR threshold for ratio rewards: on 10% vs 12% with a 50/50 split it
// declares the better version with fewer requests in every seeded run, and
// never the worse one.
func TestEvidenceNeedsFewerSamplesThanGLR(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for run := 0; run < 20; run++ {
		var a, b Data // a is truly better
		glrAt, evAt := 0.0, 0.0
		for n := 1; n <= 200000 && (glrAt == 0 || evAt == 0); n++ {
			a.Trials++
			b.Trials++
			if rng.Float64() < 0.12 {
				a.Successes++
			}
			if rng.Float64() < 0.10 {
				b.Successes++
			}
			if n%100 != 0 || a.Successes <= b.Successes {
				continue
			}
			pool := (a.Successes + b.Successes) / (a.Trials + b.Trials)
			z := a.Trials*KLBernoulli(a.Successes/a.Trials, pool) + b.Trials*KLBernoulli(b.Successes/b.Trials, pool)
			if glrAt == 0 && z > BestArmThreshold(a.Trials, b.Trials, 2, 0.05) {
				glrAt = float64(n)
			}
			if evAt == 0 && logEvidenceRatio(a, b, 1, 1) > BestArmEvidence(2, 0.05) {
				evAt = float64(n)
			}
		}
		if evAt == 0 || (glrAt != 0 && evAt >= glrAt) {
			t.Errorf("run %d: e-process decided at %v requests per version, GLR at %v", run, evAt, glrAt)
		}
	}
}
