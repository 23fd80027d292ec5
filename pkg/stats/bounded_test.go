package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFanInequality checks the inequality the mean tests rest on,
// exp(λξ − ψ(λ)ξ²) <= 1 + λξ for ξ >= −1 and λ in [0, 1), on a grid that
// includes the mixture's own λs.
func TestFanInequality(t *testing.T) {
	ls := append([]float64{0, 0.3, 0.9, 0.999}, boundedLambdas...)
	for _, l := range ls {
		for xi := -1.0; xi <= 50; xi += 0.01 {
			lhs := math.Exp(l*xi - psiE(l)*xi*xi)
			if rhs := 1 + l*xi; lhs > rhs*(1+1e-12)+1e-15 {
				t.Fatalf("λ %v, ξ %v: %v > %v", l, xi, lhs, rhs)
			}
		}
	}
}

// TestBoundedLogEFromTotals: the test's log-e from a window's totals equals
// the sum of its per-observation terms, at each λ (here the mixture of one).
func TestBoundedLogEFromTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const lo, hi, limit = 0, 10, 4.0
	var d Data
	sum := make([]float64, len(boundedLambdas))
	for range 300 {
		x := 10 * rng.Float64() * rng.Float64()
		_ = d.Merge(Mean, Data{Count: 1, Mu: x})
		xi := (limit - x) / (hi - limit)
		for i, l := range boundedLambdas {
			sum[i] += l*xi - psiE(l)*xi*xi
		}
	}
	want := logSumExp(boundedLogWeights, sum)
	if got := boundedLogE(d, limit, lo, hi, false); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("ln E from totals %v, from observations %v", got, want)
	}
}

// TestMeanVerdictWorstCase: the hardest data for a bounded test, a
// two-point law with a rare mass at the range's top whose mean is exactly
// the limit (a stream that looks well below the limit until the rare value
// arrives). Looking after every window of 10 up to 5,000 observations,
// "Satisfied" (mean <= L shown strictly below) must stay within α.
func TestMeanVerdictWorstCase(t *testing.T) {
	const alpha, streams, hi = 0.05, 1000, 100.0
	for _, p := range []float64{0.001, 0.01, 0.1} {
		// Values 1 or hi with P(hi) = p; the limit is the true mean.
		limit := (1-p)*1 + p*hi
		m := Metric{Kind: Mean, Lo: 0, Hi: hi}
		rng := rand.New(rand.NewPCG(5, uint64(p*1e4)))
		wrong := 0
		for range streams {
			var d Data
			for n := 0; n < 5000; n += 10 {
				var w Data
				for range 10 {
					x := 1.0
					if rng.Float64() < p {
						x = hi
					}
					_ = w.Merge(Mean, Data{Count: 1, Mu: x})
				}
				_ = d.Merge(Mean, w)
				if v := ObjectiveVerdict(m, Objective{Upper: true, Limit: limit}, d, Data{}, false, alpha, Priors{}); v != Undecided {
					wrong++
					break
				}
			}
		}
		rate := float64(wrong) / streams
		t.Logf("P(hi) = %v: a verdict at the true mean in %.4f of %d streams (α %v)", p, rate, streams, alpha)
		if bound := alpha + 3*math.Sqrt(alpha*(1-alpha)/streams); rate > bound {
			t.Errorf("P(hi) = %v: wrong verdicts %.4f > %.4f", p, rate, bound)
		}
	}
}

// TestMeanCSMatchesVerdicts: the CS's ends are where the one-sided tests
// at alpha/2 stop rejecting, and it contains the sample mean.
func TestMeanCSMatchesVerdicts(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	for i := range 50 {
		var d Data
		for range 20 + 50*i {
			_ = d.Merge(Mean, Data{Count: 1, Mu: math.Exp(rng.NormFloat64())})
		}
		const lo, hi, alpha = 0, 1000, 0.02
		csLo, csHi := MeanCS(d, lo, hi, alpha)
		if !(csLo <= d.Mu && d.Mu <= csHi) {
			t.Fatalf("n %v: CS [%v, %v] misses the sample mean %v", d.Count, csLo, csHi, d.Mu)
		}
		level := -math.Log(alpha / 2)
		for _, c := range []struct {
			m     float64
			above bool
			want  bool
		}{
			{csLo * 0.999, true, true}, {csLo*0.999 + d.Mu*0.001 + 1e-9, true, false},
			{csHi*1.001 - 1e-9 + 0*d.Mu, false, true}, {(csHi + d.Mu) / 2, false, false},
		} {
			if c.m <= lo || c.m >= hi {
				continue
			}
			if got := boundedLogE(d, c.m, lo, hi, c.above) >= level; got != c.want && math.Abs(c.m-csLo) > 1e-6 && math.Abs(c.m-csHi) > 1e-6 {
				t.Errorf("n %v, CS [%v, %v]: test at %v (above %v) rejects %v, want %v", d.Count, csLo, csHi, c.m, c.above, got, c.want)
			}
		}
	}
}

// TestMeanVerdictUnbounded: a side the range leaves open is never decided:
// without a top, no amount of data shows a mean below a limit.
func TestMeanVerdictUnbounded(t *testing.T) {
	d := Data{Count: 1e6, Mu: 1, M2: 1e6}
	open := Metric{Kind: Mean, Lo: 0, Hi: math.Inf(1)}
	if v := ObjectiveVerdict(open, Objective{Upper: true, Limit: 2}, d, Data{}, false, 0.05, Priors{}); v != Undecided {
		t.Errorf("mean 1 <= 2 without a top: %v, want undecided", v)
	}
	if v := ObjectiveVerdict(open, Objective{Upper: true, Limit: 0.5}, d, Data{}, false, 0.05, Priors{}); v != Violated {
		t.Errorf("mean 1 <= 0.5 with a bottom: %v, want violated", v)
	}
	if v := ObjectiveVerdict(Metric{Kind: Mean}, Objective{Upper: true, Limit: 0.5}, d, Data{}, false, 0.05, Priors{}); v != Undecided {
		t.Errorf("mean 1 <= 0.5 with no range: %v, want undecided", v)
	}
	if v := ObjectiveVerdict(Metric{Kind: Mean, Lo: 0, Hi: 10}, Objective{Upper: true, Limit: 20}, d, Data{}, false, 0.05, Priors{}); v != Satisfied {
		t.Errorf("mean <= 20 in [0, 10]: %v, want satisfied", v)
	}
}

// TestBoundedPsiIsPsiE: boundedLogE's table is the function it replaced,
// bit for bit, and its terms array fits the mixture.
func TestBoundedPsiIsPsiE(t *testing.T) {
	if len(boundedLambdas) != boundedLambdaCount {
		t.Fatalf("%d lambdas, boundedLambdaCount %d", len(boundedLambdas), boundedLambdaCount)
	}
	for i, l := range boundedLambdas {
		if math.Float64bits(boundedPsi[i]) != math.Float64bits(psiE(l)) {
			t.Errorf("λ=%v: table %v, psiE %v", l, boundedPsi[i], psiE(l))
		}
	}
}
