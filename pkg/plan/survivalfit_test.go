package plan

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// With survival probabilities exactly logistic in ln λ and many runs, the
// fit returns the curve's parameters.
func TestFitSurvivalRecoversTheCurve(t *testing.T) {
	want := survivalCurve{A: 0.4, B: -2.5}
	const runs = 1_000_000
	var alive []float64
	for _, l := range survivalScales {
		alive = append(alive, math.Round(runs*math.Exp(want.logP(l))))
	}
	got := fitSurvival(survivalScales, alive, runs)
	if math.Abs(got.A-want.A) > 0.01 || math.Abs(got.B-want.B) > 0.01 {
		t.Errorf("fit %+v, want %+v", got, want)
	}
}

// All alive (a run's first windows): P_λ is flat, at the pseudo-counted
// share (n+½)/(n+1); separated outcomes (all alive up to λ = 1, none
// above) still give a finite, decreasing curve.
func TestFitSurvivalFlatAndSeparated(t *testing.T) {
	all := make([]float64, len(survivalScales))
	for k := range all {
		all[k] = 24
	}
	c := fitSurvival(survivalScales, all, 24)
	for _, l := range []float64{0.25, 1, 3} {
		if got, want := math.Exp(c.logP(l)), 24.5/25; math.Abs(got-want) > 1e-6 {
			t.Errorf("all alive: P at λ=%v is %v, want %v", l, got, want)
		}
	}
	sep := []float64{24, 24, 24, 24, 0, 0, 0}
	c = fitSurvival(survivalScales, sep, 24)
	if !(c.B < 0) || math.IsInf(c.B, 0) || math.IsNaN(c.B) || !(math.Exp(c.logP(0.5)) > 0.9) || !(math.Exp(c.logP(2)) < 0.1) {
		t.Errorf("separated: curve %+v: P(0.5) %.3f, P(2) %.3f", c, math.Exp(c.logP(0.5)), math.Exp(c.logP(2)))
	}
}

// Without a survival effect (P_λ flat) the posterior mean of λ under a
// flat prior on (0, h] and the magnitude likelihood of one z is in closed
// form: with x = z(λ∓1), each folded term integrates to normal CDFs and
// densities.
func TestSurvivalMeanClosedForm(t *testing.T) {
	n := distuv.UnitNormal
	const h = 3.0
	for _, z := range []float64{0.3, 1, 1.7, 2.5, 4} {
		w1 := (n.CDF(z*(h-1)) - n.CDF(-z)) / z
		m1 := w1 + (n.Prob(-z)-n.Prob(z*(h-1)))/(z*z)
		w2 := (n.CDF(z*(h+1)) - n.CDF(z)) / z
		m2 := (n.Prob(z)-n.Prob(z*(h+1)))/(z*z) - w2
		want := (m1 + m2) / (w1 + w2)
		got := survivalMean(flatProfile(24), []float64{z})
		if math.Abs(got-want) > 1e-3 {
			t.Errorf("z=%v: posterior mean λ %.5f, want %.5f", z, got, want)
		}
	}
}

// The estimate is a smooth function of the data: one run more or less
// alive at any λ, or a difference a twentieth of a standard error larger,
// moves λ a little, where the argmax over the grid could jump from 1 to
// 1.5 (as it did window to window, ab-conversion seed 1 at windows 9–11).
func TestSurvivalMeanIsSmooth(t *testing.T) {
	// Window 10 of ab-conversion seed 1: z = 2.51 and these survivors.
	alive := []float64{24, 22, 23, 20, 4, 1, 0}
	prof := func(alive []float64) []survivalPoint {
		var p []survivalPoint
		for k, l := range survivalScales {
			p = append(p, survivalPoint{Lambda: l, Alive: alive[k], Runs: 24})
		}
		return p
	}
	base := survivalMean(prof(alive), []float64{2.51})
	for k := range alive {
		for _, d := range []float64{-1, 1} {
			a := append([]float64(nil), alive...)
			a[k] = min(24, max(0, a[k]+d))
			if got := survivalMean(prof(a), []float64{2.51}); math.Abs(got-base) > 0.05 {
				t.Errorf("alive[%d] %+v: λ %.3f, was %.3f", k, d, got, base)
			}
		}
	}
	for _, z := range []float64{2.46, 2.56} {
		if got := survivalMean(prof(alive), []float64{z}); math.Abs(got-base) > 0.05 {
			t.Errorf("z %.2f: λ %.3f, at 2.51 %.3f", z, got, base)
		}
	}
	if !(base > 1) {
		t.Errorf("λ %.3f at window 10, want > 1: the survivors are slower than the truth", base)
	}
}

// flatProfile is a profile with every run alive at every λ.
func flatProfile(runs int) []survivalPoint {
	var p []survivalPoint
	for _, l := range survivalScales {
		p = append(p, survivalPoint{Lambda: l, Alive: float64(runs), Runs: runs})
	}
	return p
}
