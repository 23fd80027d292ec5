package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
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
		if got := newCanaryRates(c.s, c.n, c.sb, c.nb, nil).null; math.Abs(got-want) > 1e-6*math.Max(1, want) {
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
// 15 drops it to about 0.3, three in 40 to about 0.003. One error in 50
// keeps it near 0.7: a candidate at 2% is no likelier under H₁, whose
// Jeffreys rate spreads over [0, 1], than at the baseline's 0.2% (the
// two truths of the canary scenarios, equally likely a priori, give the
// good one 0.31: TestTruthWeights).
func TestCanaryNullFollowsTheErrors(t *testing.T) {
	for _, c := range []struct {
		s, n   float64
		lo, hi float64
	}{{0, 20, 0.85, 0.95}, {1, 15, 0.2, 0.4}, {3, 40, 0.001, 0.01}, {1, 50, 0.65, 0.75}} {
		if got := newCanaryRates(c.s, c.n, 20, 10000, nil).null; got < c.lo || got > c.hi {
			t.Errorf("%v errors in %v: P(H0) %v, want in [%v, %v]", c.s, c.n, got, c.lo, c.hi)
		}
	}
}

// Under H₀ both versions get one rate; the draws are the mixture.
func TestCanaryRatesDraw(t *testing.T) {
	c := newCanaryRates(0, 20, 20, 10000, nil)
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

// The baseline's history before the start joins its experiment data in the
// canary prior (ETAOptions.Baseline): H₀'s shared rate and H₁'s baseline
// rate are then drawn as if the baseline had served those requests too,
// against the Beta posteriors' means in closed form; without it, a canary
// whose baseline had one error in its first 150 requests draws H₀'s shared
// rate near a 1% limit.
func TestCanaryPriorBorrowsTheBaselineHistory(t *testing.T) {
	limit := 0.01
	spec := events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics:    []events.MetricSpec{{Name: "errors", Type: "ratio"}},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: &limit}},
	}
	st := experiment.State{Versions: []string{"v1", "v2"}, Data: [][]stats.Data{
		{{Successes: 1, Trials: 150}}, {{Successes: 1, Trials: 50}},
	}}
	before := map[string]stats.Data{"errors": {Successes: 60, Trials: 30000}}
	for _, c := range []struct {
		name   string
		before map[string]stats.Data
		sb, nb float64
	}{{"without history", nil, 1, 150}, {"with an hour's history", before, 61, 30150}} {
		want := newCanaryRates(1, 50, c.sb, c.nb, nil)
		rng := rand.New(rand.NewPCG(5, 6))
		var null, h1 int
		var pooled, base float64
		const n = 20000
		for range n {
			tr := fitted(spec, st, prior{before: c.before}, rng)
			b, k := *tr["v1"]["errors"].Bernoulli, *tr["v2"]["errors"].Bernoulli
			if b == k {
				null++
				pooled += b
			} else {
				h1++
				base += b
			}
		}
		if got := float64(null) / n; math.Abs(got-want.null) > 4*math.Sqrt(want.null*(1-want.null)/n) {
			t.Errorf("%s: share of H0 draws %v, want P(H0) %v", c.name, got, want.null)
		}
		for _, m := range []struct {
			what      string
			got, want float64
			sd        float64
		}{
			{"H0's shared rate", pooled / float64(null), want.pooled.Mean(), want.pooled.StdDev() / math.Sqrt(float64(null))},
			{"H1's baseline rate", base / float64(h1), want.base.Mean(), want.base.StdDev() / math.Sqrt(float64(h1))},
		} {
			if math.Abs(m.got-m.want) > 4*m.sd {
				t.Errorf("%s: %s mean %v, want %v", c.name, m.what, m.got, m.want)
			}
		}
	}
	// What the history changes: H₀'s shared rate moves from 2.5/201 (1.2%,
	// above the limit) to the baseline's 0.2%, and P(H₀) falls, since the
	// candidate's one error in 50 is less likely at 0.2% than at 1.2%.
	short, long := newCanaryRates(1, 50, 1, 150, nil), newCanaryRates(1, 50, 61, 30150, nil)
	if !(short.pooled.Mean() > limit && long.pooled.Mean() < 0.0025 && long.null < short.null) {
		t.Errorf("H0's rate %v → %v, P(H0) %v → %v", short.pooled.Mean(), long.pooled.Mean(), short.null, long.null)
	}
}
