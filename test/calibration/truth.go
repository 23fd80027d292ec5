package main

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// latency is a true latency distribution in milliseconds: a mixture of
// lognormals (one component for a plain lognormal).
type latency struct {
	name   string
	weight []float64
	mu     []float64 // log-scale location of each component
	sigma  []float64
}

func lognormal(median, sigma float64) latency {
	return latency{
		name:   "lognormal σ=" + fmtFloat(sigma),
		weight: []float64{1}, mu: []float64{math.Log(median)}, sigma: []float64{sigma},
	}
}

// latencies are the quantile grid's true distributions: lognormal latency
// with median 55 ms at three spreads, and a bimodal mixture (70% fast
// responses around 20 ms, 30% slow ones around 150 ms, as with a cache).
func latencies() []latency {
	return []latency{
		lognormal(55, 0.3), lognormal(55, 0.6), lognormal(55, 1.0),
		{
			name:   "bimodal 0.7·LN(20 ms, 0.3) + 0.3·LN(150 ms, 0.4)",
			weight: []float64{0.7, 0.3}, mu: []float64{math.Log(20), math.Log(150)}, sigma: []float64{0.3, 0.4},
		},
	}
}

func (l latency) cdf(x float64) float64 {
	if x <= 0 {
		return 0
	}
	f := 0.0
	for i, w := range l.weight {
		f += w * distuv.UnitNormal.CDF((math.Log(x)-l.mu[i])/l.sigma[i])
	}
	return f
}

// quantile inverts the CDF by bisection in log x.
func (l latency) quantile(q float64) float64 {
	lo, hi := -20.0, 20.0
	for range 200 {
		mid := (lo + hi) / 2
		if l.cdf(math.Exp(mid)) < q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Exp((lo + hi) / 2)
}

// bucketProbs is the mass of each bucket (b_{j-1}, b_j] and of the
// overflow.
func (l latency) bucketProbs(bounds []float64) []float64 {
	out := make([]float64, len(bounds)+1)
	prev := 0.0
	for j, b := range bounds {
		f := l.cdf(b)
		out[j] = f - prev
		prev = f
	}
	out[len(bounds)] = 1 - prev
	return out
}
