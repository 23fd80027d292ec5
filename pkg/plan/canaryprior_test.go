package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
)

// P(H₀ | data) against the likelihoods integrated numerically: the
// marginal likelihood of both versions' counts under one shared Beta(½, ½)
// rate, and under two independent ones.
func TestCanaryNullAgainstQuadrature(t *testing.T) {
	for _, c := range []struct{ s, n, sb, nb float64 }{
		{0, 20, 2, 1000}, {1, 15, 2, 1000}, {3, 40, 4, 2000}, {0, 0, 3, 500}, {5, 100, 1, 900},
	} {
		// The likelihoods without binomial coefficients (they cancel),
		// scaled by the baseline's MLE so the integrals stay in range.
		logLik := func(s, n, p float64) float64 { return s*math.Log(p) + (n-s)*math.Log1p(-p) }
		// Substitute p = sin²(θ): Beta(½, ½) dp = dθ·2/π, smooth for quad.
		integral := func(g func(p float64) float64) float64 {
			return quad.Fixed(func(th float64) float64 { p := math.Pow(math.Sin(th), 2); return g(p) * 2 / math.Pi }, 0, math.Pi/2, 2000, nil, 0)
		}
		scale := logLik(c.s+c.sb, c.n+c.nb, (c.s+c.sb+0.5)/(c.n+c.nb+1))
		m0 := integral(func(p float64) float64 { return math.Exp(logLik(c.s+c.sb, c.n+c.nb, p) - scale) })
		m1 := integral(func(p float64) float64 { return math.Exp(logLik(c.sb, c.nb, p) - scale/2) }) *
			integral(func(p float64) float64 { return math.Exp(logLik(c.s, c.n, p) - scale/2) })
		want := m0 / (m0 + m1)
		if got := newCanaryRates(c.s, c.n, c.sb, c.nb).null; math.Abs(got-want) > 1e-6*math.Max(1, want) {
			t.Errorf("%+v: P(H0) %v, want %v", c, got, want)
		}
	}
	// The closed form's own pieces: B(½, ½) = π.
	if b := math.Exp(mathext.Lbeta(0.5, 0.5)); math.Abs(b-math.Pi) > 1e-12 {
		t.Errorf("B(1/2, 1/2) = %v", b)
	}
}

// What docs/planning.md says of it: a candidate without errors in 20
// requests against a baseline at 0.2% keeps P(H₀) near 0.9; one error in
// 15 drops it to about 0.3, three in 40 to about 0.003.
func TestCanaryNullFollowsTheErrors(t *testing.T) {
	for _, c := range []struct {
		s, n   float64
		lo, hi float64
	}{{0, 20, 0.85, 0.95}, {1, 15, 0.2, 0.4}, {3, 40, 0.001, 0.01}} {
		if got := newCanaryRates(c.s, c.n, 20, 10000).null; got < c.lo || got > c.hi {
			t.Errorf("%v errors in %v: P(H0) %v, want in [%v, %v]", c.s, c.n, got, c.lo, c.hi)
		}
	}
}

// Under H₀ both versions get one rate; the draws are the mixture.
func TestCanaryRatesDraw(t *testing.T) {
	c := newCanaryRates(0, 20, 20, 10000)
	rng := rand.New(rand.NewPCG(3, 4))
	same, n := 0, 20000
	for range n {
		if b, k := c.draw(rng); b == k {
			same++
		}
	}
	if got := float64(same) / float64(n); math.Abs(got-c.null) > 4*math.Sqrt(c.null*(1-c.null)/float64(n)) {
		t.Errorf("share of runs at the baseline's rate %v, want P(H0) %v", got, c.null)
	}
}
