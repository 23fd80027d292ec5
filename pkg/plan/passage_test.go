package plan

import (
	"math"
	"testing"
)

// inverseGaussianPDF is IG(m, λ)'s density, √(λ/2πt³)·exp(−λ(t−m)²/2m²t).
func inverseGaussianPDF(t, m, lambda float64) float64 {
	return math.Sqrt(lambda/(2*math.Pi*t*t*t)) * math.Exp(-lambda*(t-m)*(t-m)/(2*m*m*t))
}

// simpson is ∫₀ˣ f by Simpson's rule on n (even) intervals; f(0) is
// taken as 0, the density's limit.
func simpson(f func(float64) float64, x float64, n int) float64 {
	h := x / float64(n)
	sum := f(x)
	for i := 1; i < n; i++ {
		sum += float64(2+2*(i%2)) * f(float64(i)*h)
	}
	return sum * h / 3
}

// The closed-form CDF is the integral of the density (Simpson's rule on a
// fine grid), its median has CDF ½, and the CDF stays finite where
// e^{2λ/m} alone would overflow.
func TestInverseGaussianCDF(t *testing.T) {
	for _, c := range []struct{ m, lambda float64 }{{1, 1}, {1, 4}, {2, 0.5}, {0.3, 9}, {1, 400}} {
		for _, x := range []float64{0.25 * c.m, 0.75 * c.m, c.m, 1.5 * c.m, 3 * c.m} {
			want := simpson(func(t float64) float64 { return inverseGaussianPDF(t, c.m, c.lambda) }, x, 20000)
			if got := InverseGaussianCDF(x, c.m, c.lambda); math.Abs(got-want) > 1e-6 {
				t.Errorf("IG(%v, %v) CDF at %v = %.8f, want %.8f (integral of the density)", c.m, c.lambda, x, got, want)
			}
		}
		for _, q := range []float64{0.1, 0.9} {
			x := InverseGaussianQuantile(q, c.m, c.lambda)
			if got := InverseGaussianCDF(x, c.m, c.lambda); math.Abs(got-q) > 1e-9 {
				t.Errorf("IG(%v, %v) %v-quantile %v: CDF %v", c.m, c.lambda, q, x, got)
			}
		}
		med := InverseGaussianMedian(c.m, c.lambda)
		if got := InverseGaussianCDF(med, c.m, c.lambda); math.Abs(got-0.5) > 1e-9 || med >= c.m {
			t.Errorf("IG(%v, %v) median %v: CDF %v, want ½ below the mean", c.m, c.lambda, med, got)
		}
	}
	if got := InverseGaussianCDF(1, 1, 1e4); math.IsNaN(got) || math.Abs(got-0.5) > 0.01 {
		t.Errorf("IG(1, 1e4) CDF at its mean = %v, want about ½ (nearly normal), finite", got)
	}
}

// The simulated decision times are IG(1, 1/cv²): their mean is 1 and half
// of them fall below the closed-form median, within 4 standard errors, so
// the grid and its bridge correction neither miss nor delay decisions.
// At moments fixed in advance (25/50/75% of the median decision time) the
// ideal ETA is calibrated: half the paths still running decide before it.
// At moments picked by each path's own end, as issue #19 states its
// target, the same ETA is long, the more the more the decision time
// varies: it meets ±30% at 75% of a run's duration for a CV of 0.3, and
// misses it at a CV of 0.6: the A/B scenarios' decision times have a
// p90/median of about 2 (docs/benchmarks.md), a CV of about 0.55 for an
// inverse Gaussian (docs/planning.md, where the model is tabled).
func TestIdealETAOnlyCalibratedWithoutLookAhead(t *testing.T) {
	const paths, steps = 3000, 1000
	for _, c := range []struct {
		cv   float64
		meet bool
	}{{0.3, true}, {0.6, false}} {
		r := PassageAccuracy(c.cv, paths, steps, 1)
		if se := c.cv / math.Sqrt(paths); math.Abs(r.Mean-1) > 4*se {
			t.Errorf("cv %v: mean decision time %.3f, want 1 ± %.3f", c.cv, r.Mean, 4*se)
		}
		if se := math.Sqrt(0.25 / paths); math.Abs(r.BelowMedian-0.5) > 4*se {
			t.Errorf("cv %v: %.3f of decision times below the closed-form median %.3f, want ½ ± %.3f", c.cv, r.BelowMedian, r.Median, 4*se)
		}
		for _, p := range r.Fixed {
			if se := math.Sqrt(0.25 / float64(p.Paths)); p.Paths < paths/2 || math.Abs(p.Below-0.5) > 4*se {
				t.Errorf("cv %v, %.0f%% of the median: %.3f of %d paths decided before the ideal ETA, want ½ ± %.3f", c.cv, 100*p.Fraction, p.Below, p.Paths, 4*se)
			}
		}
		own := r.Own[2]
		t.Logf("cv %v: median ratio at 25/50/75%% own %.3f/%.3f/%.3f (75%%: %.3f–%.3f); below the ETA at 75%% own %.3f, at fixed moments %.3f/%.3f/%.3f",
			c.cv, r.Own[0].MedianRatio, r.Own[1].MedianRatio, own.MedianRatio, own.RatioCI[0], own.RatioCI[1], own.Below, r.Fixed[0].Below, r.Fixed[1].Below, r.Fixed[2].Below)
		switch {
		case c.meet && !(own.RatioCI[1] < 1.3):
			t.Errorf("cv %v, 75%% of own duration: median ratio %.3f (95%% %.3f–%.3f), want it below 1.3", c.cv, own.MedianRatio, own.RatioCI[0], own.RatioCI[1])
		case !c.meet && !(own.RatioCI[0] > 1.3):
			t.Errorf("cv %v, 75%% of own duration: median ratio %.3f (95%% %.3f–%.3f), want it above 1.3", c.cv, own.MedianRatio, own.RatioCI[0], own.RatioCI[1])
		}
		if own.Below <= 0.5 {
			t.Errorf("cv %v, 75%% of own duration: %.3f of paths decided before the ideal ETA, want more than ½ (the ETA is long)", c.cv, own.Below)
		}
	}
}

// The ETA shown, the lower 40% of the remaining time (ETALevel), meets
// issue #19's target in the first-passage model wherever the decision
// time's CV is between 0.2 and 0.7: at 25%, 50% and 75% of each path's
// own duration the median ratio's 95% interval lies within 0.7–1.3. The
// median does not at a CV of 0.6 (the test above). At moments fixed in
// advance it is what it says: 40% of the paths still running decide
// before it.
func TestShownETAMeetsTheTargetInTheModel(t *testing.T) {
	const paths, steps = 3000, 500
	for _, cv := range []float64{0.2, 0.45, 0.7} {
		r := PassageAccuracy(cv, paths, steps, 2)
		for _, p := range r.Own {
			if p.PointCI[0] < 0.7 || p.PointCI[1] > 1.3 {
				t.Errorf("cv %v, %.0f%% of own duration: the shown ETA's median ratio %.3f (95%% %.3f–%.3f), want within 0.7–1.3",
					cv, 100*p.Fraction, p.PointRatio, p.PointCI[0], p.PointCI[1])
			}
		}
		for _, p := range r.Fixed {
			if se := math.Sqrt(ETALevel * (1 - ETALevel) / float64(p.Paths)); math.Abs(p.PointBelow-ETALevel) > 4*se {
				t.Errorf("cv %v, %.0f%% of the median: %.3f of %d paths decided before the shown ETA, want %.3f ± %.3f",
					cv, 100*p.Fraction, p.PointBelow, p.Paths, ETALevel, 4*se)
			}
		}
		t.Logf("cv %v: shown ETA's median ratio at 25/50/75%% own %.3f/%.3f/%.3f", cv, r.Own[0].PointRatio, r.Own[1].PointRatio, r.Own[2].PointRatio)
	}
}
