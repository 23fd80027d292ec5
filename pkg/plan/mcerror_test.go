package plan

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gonum.org/v1/gonum/stat/distuv"
)

// TestBinomialCI checks the Clopper–Pearson interval against closed forms
// (k = 0: 1 − 0.025^(1/n); k = n: 0.025^(1/n); k = 1: 1 − 0.975^(1/n)) and
// the textbook 5 of 10: 0.18709–0.81291.
func TestBinomialCI(t *testing.T) {
	tests := []struct {
		k, n int
		want [2]float64
	}{
		{0, 10, [2]float64{0, 1 - math.Pow(0.025, 0.1)}},
		{10, 10, [2]float64{math.Pow(0.025, 0.1), 1}},
		{1, 10, [2]float64{1 - math.Pow(0.975, 0.1), 0.44502}},
		{5, 10, [2]float64{0.18709, 0.81291}},
		{5, 5, [2]float64{math.Pow(0.025, 0.2), 1}},
		{0, 40, [2]float64{0, 1 - math.Pow(0.025, 1.0/40)}},
		{0, 0, [2]float64{0, 1}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, binomialCI(tt.k, tt.n), cmpopts.EquateApprox(0, 1e-5)); diff != "" {
			t.Errorf("binomialCI(%d, %d) (-want +got):\n%s", tt.k, tt.n, diff)
		}
	}
}

// binomPMF is P(X = k) for X ~ Binomial(n, p).
func binomPMF(k, n int, p float64) float64 {
	lc, _ := math.Lgamma(float64(n + 1))
	a, _ := math.Lgamma(float64(k + 1))
	b, _ := math.Lgamma(float64(n - k + 1))
	return math.Exp(lc - a - b + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}

// binomTail is P(X ≥ k) for X ~ Binomial(n, p), summed term by term: an
// independent check of the Beta quantiles.
func binomTail(k, n int, p float64) float64 {
	s := 0.0
	for j := k; j <= n; j++ {
		s += binomPMF(j, n, p)
	}
	return s
}

// Each end is where its tail is exactly 2.5%, by the interval's definition.
func TestBinomialCIEndsHaveTheirTails(t *testing.T) {
	for _, n := range []int{5, 10, 13, 20, 40} {
		for k := 0; k <= n; k++ {
			ci := binomialCI(k, n)
			if k > 0 {
				if got := binomTail(k, n, ci[0]); math.Abs(got-0.025) > 1e-9 {
					t.Errorf("n %d k %d: P(X ≥ k | lower %.6f) = %.9f, want 0.025", n, k, ci[0], got)
				}
			}
			if k < n {
				if got := 1 - binomTail(k+1, n, ci[1]); math.Abs(got-0.025) > 1e-9 {
					t.Errorf("n %d k %d: P(X ≤ k | upper %.6f) = %.9f, want 0.025", n, k, ci[1], got)
				}
			}
		}
	}
}

// TestBinomialCICoverage computes the exact coverage at fixed true p, over
// every outcome k of n runs weighted by its binomial probability: at least
// 95% at every p on a fine grid, including within 1% of 0 and 1, where the
// plan's proportions sit. It also measures what docs/planning.md says of
// the alternatives: Wilson's worst coverage 83–85% and Jeffreys' 87–90% at
// 5 to 40 runs, and the Wald interval the plan printed before (p̂ ± 1.96
// SE) 65% at 10 runs and p = 0.9, 18% at p = 0.98.
func TestBinomialCICoverage(t *testing.T) {
	const z = 1.959963984540054
	wald := func(k, n int) [2]float64 {
		p := float64(k) / float64(n)
		h := z * math.Sqrt(p*(1-p)/float64(n))
		return [2]float64{p - h, p + h}
	}
	wilson := func(k, n int) [2]float64 {
		p, m := float64(k)/float64(n), float64(n)
		c, h := (p+z*z/(2*m))/(1+z*z/m), z/(1+z*z/m)*math.Sqrt(p*(1-p)/m+z*z/(4*m*m))
		return [2]float64{c - h, c + h}
	}
	jeffreys := func(k, n int) [2]float64 {
		b := distuv.Beta{Alpha: float64(k) + 0.5, Beta: float64(n-k) + 0.5}
		ci := [2]float64{b.Quantile(0.025), b.Quantile(0.975)}
		if k == 0 {
			ci[0] = 0
		}
		if k == n {
			ci[1] = 1
		}
		return ci
	}
	coverage := func(ci func(k, n int) [2]float64, n int, p float64) float64 {
		c := 0.0
		for k := 0; k <= n; k++ {
			if iv := ci(k, n); iv[0] <= p && p <= iv[1] {
				c += binomPMF(k, n, p)
			}
		}
		return c
	}
	worst := func(ci func(k, n int) [2]float64, n int) (float64, float64) {
		w, at := 1.0, 0.0
		for i := 1; i < 1000; i++ {
			p := float64(i) / 1000
			if c := coverage(ci, n, p); c < w {
				w, at = c, p
			}
		}
		return w, at
	}
	for _, n := range []int{MinBadRuns, MinRuns, 13, BadPilotRuns, 40} {
		if w, at := worst(binomialCI, n); w < MCLevel-1e-9 {
			t.Errorf("n %d: coverage %.4f at p = %.3f, want at least %.2f", n, w, at, MCLevel)
		}
		if w, at := worst(wilson, n); w < 0.83 || w >= 0.86 || math.Min(at, 1-at) > 0.04 {
			t.Errorf("n %d: Wilson's worst coverage %.3f at p = %.3f; docs/planning.md says 83–85%% within 4 points of 0 or 1", n, w, at)
		}
		if w, at := worst(jeffreys, n); w < 0.865 || w >= 0.905 {
			t.Errorf("n %d: Jeffreys' worst coverage %.3f at p = %.3f; docs/planning.md says 87–90%%", n, w, at)
		}
	}
	if c := coverage(wald, 10, 0.9); math.Abs(c-0.65) > 0.005 {
		t.Errorf("Wald's coverage at 10 runs, p = 0.9: %.3f; docs/planning.md says 65%%", c)
	}
	if c := coverage(wald, 10, 0.98); math.Abs(c-0.18) > 0.005 {
		t.Errorf("Wald's coverage at 10 runs, p = 0.98: %.3f; docs/planning.md says 18%%", c)
	}
}

// checkIntervals checks that every proportion a plan reports comes with
// the interval of its count of runs, and every figure lies inside its
// interval (TestMakeIsDeterministicAndWarns calls it on its plan).
func checkIntervals(t *testing.T, p Plan) {
	t.Helper()
	check := func(what string, x float64, ci [2]float64, runs int) {
		t.Helper()
		k := int(math.Round(x * float64(runs)))
		if diff := cmp.Diff(binomialCI(k, runs), ci); diff != "" || !(ci[0] <= x && x <= ci[1]) {
			t.Errorf("%s %.3f of %d runs: interval %v (-want +got):\n%s", what, x, runs, ci, diff)
		}
	}
	check("decided", p.Decided, p.DecidedCI, p.Runs)
	if len(p.OutcomesCI) != len(p.Outcomes) {
		t.Errorf("outcomes %v, intervals %v: want one each", p.Outcomes, p.OutcomesCI)
	}
	for o, x := range p.Outcomes {
		check("outcome "+o, x, p.OutcomesCI[o], p.Runs)
	}
	for _, e := range p.Bad {
		check("caught "+e.Metric, e.Caught, e.CaughtCI, e.Runs)
		if !(e.RequestsCI[0] <= e.Requests && e.Requests <= e.RequestsCI[1]) || !(e.ShareCI[0] <= e.Share && e.Share <= e.ShareCI[1]) {
			t.Errorf("bad %s: requests %v in %v, share %v in %v: want each inside", e.Metric, e.Requests, e.RequestsCI, e.Share, e.ShareCI)
		}
		if !(e.TimeCI[0] <= e.Time && e.Time <= e.TimeCI[1]) {
			t.Errorf("bad %s: median time %v outside its interval %v", e.Metric, e.Time, e.TimeCI)
		}
	}
}

// TestOrderCI checks the ranks by hand: of 10 runs, the median's interval
// is x(2)–x(9) (P(B ≤ 1) = 11/1024 ≤ 2.5% < P(B ≤ 2) = 56/1024) and the
// p90's x(7) to the horizon (P(B ≤ 6) = 1.3%, P(B ≤ 7) = 7.0%; no rank
// bounds it above: P(B = 10) = 35%); of 5, nothing bounds the median (P(B
// = 0) = 1/32 > 2.5%); of 40, the median's is x(14)–x(27).
func TestOrderCI(t *testing.T) {
	runs := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i + 1)
		}
		return xs
	}
	tests := []struct {
		n    int
		p    float64
		want [2]float64
	}{
		{10, 0.5, [2]float64{2, 9}},
		{10, 0.9, [2]float64{7, 1000}},
		{5, 0.5, [2]float64{0, 1000}},
		{6, 0.5, [2]float64{1, 6}},
		{40, 0.5, [2]float64{14, 27}},
		// 0.9^35 = 2.503% > 2.5% ≥ 0.9^36: the p90's upper end needs 36
		// runs; P(B ≤ 27) = 2.0% of 35, P(B ≤ 28) = 2.35% of 36.
		{35, 0.9, [2]float64{28, 1000}},
		{36, 0.9, [2]float64{29, 36}},
		{0, 0.5, [2]float64{0, 1000}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, orderCI(runs(tt.n), tt.p, 0, 1000)); diff != "" {
			t.Errorf("orderCI(%d runs, p%.0f) (-want +got):\n%s", tt.n, 100*tt.p, diff)
		}
	}
	// The normal approximation before took x(8)–x(10) for the p90 of 10
	// runs: it covers P(8 ≤ B ≤ 9) = 58%.
	if diff := cmp.Diff([2]float64{8, 10}, quantileCI(runs(10), 0.9)); diff != "" {
		t.Errorf("quantileCI(10 runs, p90) (-want +got):\n%s", diff)
	}
	if c := binomPMF(8, 10, 0.9) + binomPMF(9, 10, 0.9); math.Abs(c-0.58) > 0.005 {
		t.Errorf("x(8)–x(10) covers the p90 of 10 runs %.3f; docs/planning.md says 58%%", c)
	}
}

// TestMeanAndRatioCI checks the t intervals by hand: 1, 2, 3, 4, 5 has
// mean 3 and standard error √(2.5/5), t(4) = 2.776445; served 18, 20, 22
// of 100 each is a share of 0.2 whose residuals −2, 0, 2 have standard
// deviation 2, so a standard error of 2/√3/100, t(2) = 4.302653.
func TestMeanAndRatioCI(t *testing.T) {
	h := 2.776445 * math.Sqrt(2.5/5)
	if diff := cmp.Diff([2]float64{3 - h, 3 + h}, meanCI([]float64{1, 2, 3, 4, 5}), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("meanCI (-want +got):\n%s", diff)
	}
	h = 4.302653 * 2 / math.Sqrt(3) / 100
	if diff := cmp.Diff([2]float64{0.2 - h, 0.2 + h}, ratioCI([]float64{18, 20, 22}, []float64{100, 100, 100}), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("ratioCI (-want +got):\n%s", diff)
	}
	if got := meanCI([]float64{0, 0, 0, 100}); got[0] != 0 {
		t.Errorf("meanCI of counts = %v, want it clipped at 0", got)
	}
	if got := ratioCI([]float64{0, 0, 0, 100}, []float64{100, 100, 100, 100}); got[0] != 0 || got[1] > 1 {
		t.Errorf("ratioCI of a share = %v, want it within 0 and 1", got)
	}
}
