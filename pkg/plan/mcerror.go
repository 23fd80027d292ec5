package plan

import (
	"fmt"
	"math"

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
// drops to 83–85% and Jeffreys' to 87–90% for some p within a few points
// of 0 or 1 (TestBinomialCICoverage computes them exactly). The price is
// width: 10 decided of 10 reads 69–100% (Wilson: 72–100%).
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
