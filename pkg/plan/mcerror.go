package plan

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// MCLevel is the coverage of every Monte Carlo interval the plan reports.
const MCLevel = 0.95

// binomialCI is the 95% Clopper–Pearson interval of a proportion seen k
// times in n runs: the p at which P(X ≥ k) and P(X ≤ k) are each 2.5%,
// Beta quantiles. It is chosen over Wilson's and Jeffreys' because it
// covers at least 95% at every true p and n, and the plan's proportions
// (deciding in time, a bad candidate caught) sit near 0 or 1 at 5 to 40
// runs, where those two fall short: at n = 5 to 40, Wilson's coverage
// drops to 83–85% at some p within 4 points of 0 or 1, and Jeffreys' to
// 87–90% (TestBinomialCICoverage computes all three exactly). The price is width: 10
// decided of 10 reads 69–100% (Wilson: 72–100%).
func binomialCI(k, n int) [2]float64 {
	if n <= 0 {
		return [2]float64{0, 1}
	}
	a := (1 - MCLevel) / 2
	ci := [2]float64{0, 1}
	if k > 0 {
		ci[0] = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(a)
	}
	if k < n {
		ci[1] = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - a)
	}
	return ci
}

// PercentInterval is an interval of a proportion in percent, its ends
// rounded outward so that rounding never narrows it: "69–100%" (the
// plan's warnings and pkg/present's table print it so).
func PercentInterval(ci [2]float64) string {
	lo, hi := math.Floor(100*ci[0]+1e-9), math.Ceil(100*ci[1]-1e-9)
	return fmt.Sprintf("%.0f–%.0f%%", math.Max(lo, 0), math.Max(hi, 0)) // never "-0"
}

// share is k of n as a proportion, and its interval.
func share(k, n int) (float64, [2]float64) {
	return float64(k) / math.Max(float64(n), 1), binomialCI(k, n)
}

// orderCI is the 95% distribution-free interval of the p-quantile of
// sorted xs, exact: the order statistics x(r) and x(s) with r the largest
// and s the smallest rank whose tails P(B < r) and P(B ≥ s), B ~
// Binomial(n, p), are each at most 2.5%, so that it covers at least 95%
// (P(r ≤ B < s)) whatever the distribution. When a tail needs a rank
// beyond the runs (a p90's upper end below 36 runs, a median below 6), the sample
// cannot bound that side, and the end is the bound the runs cannot pass:
// floor or top (the horizon). The normal approximation quantileCI used
// before took x(8)–x(10) as the p90's at 10 runs, which covers 58%.
func orderCI(xs []float64, p, floor, top float64) [2]float64 {
	n := len(xs)
	if n == 0 {
		return [2]float64{floor, top}
	}
	a := (1 - MCLevel) / 2
	b := distuv.Binomial{N: float64(n), P: p}
	ci := [2]float64{floor, top}
	for r := n; r >= 1; r-- {
		if b.CDF(float64(r-1)) <= a {
			ci[0] = xs[r-1]
			break
		}
	}
	for s := 1; s <= n; s++ {
		if 1-b.CDF(float64(s-1)) <= a {
			ci[1] = xs[s-1]
			break
		}
	}
	return ci
}

// meanCI is the 95% Student t interval of the mean of xs, clipped at 0
// (the plan's means are counts). It is approximate: exact for normal
// values, while a bad candidate's exposure is skewed (most runs catch it
// early, a few late), so at 5 runs it may cover less than 95%.
func meanCI(xs []float64) [2]float64 {
	n := float64(len(xs))
	if n < 2 { // never in a plan (MinBadRuns); JSON has no NaN
		return [2]float64{0, 0}
	}
	m, v := stat.MeanVariance(xs, nil)
	return tInterval(m, math.Sqrt(v/n), n)
}

// ratioCI is the 95% interval of Σnum/Σden over runs (a share of
// requests, so within 0 and 1), from the ratio estimator's standard error (the delta method:
// the spread of num − r·den over runs, over the mean den), with Student's
// t; approximate as meanCI is.
func ratioCI(num, den []float64) [2]float64 {
	n := float64(len(num))
	sn, sd := floats.Sum(num), floats.Sum(den)
	if n < 2 || sd <= 0 {
		return [2]float64{0, 0}
	}
	r := sn / sd
	d := make([]float64, len(num))
	for i := range num {
		d[i] = num[i] - r*den[i]
	}
	ci := tInterval(r, stat.StdDev(d, nil)/math.Sqrt(n)/(sd/n), n)
	return [2]float64{ci[0], math.Min(1, ci[1])}
}

func tInterval(m, se, n float64) [2]float64 {
	h := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(1-(1-MCLevel)/2) * se
	return [2]float64{math.Max(0, m-h), m + h}
}
