package main

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// multinomial draws n observations into cells of probabilities ps by
// sequential conditional binomials.
func multinomial(n float64, ps []float64, src rand.Source) []float64 {
	out := make([]float64, len(ps))
	left, mass := n, 1.0
	for j, p := range ps {
		if left <= 0 || mass <= 0 {
			break
		}
		if j == len(ps)-1 {
			out[j] = left
			break
		}
		c := math.Min(1, math.Max(0, p/mass))
		out[j] = binomial(left, c, src)
		left -= out[j]
		mass -= p
	}
	return out
}

func binomial(n, p float64, src rand.Source) float64 {
	if p <= 0 || n <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	return distuv.Binomial{N: n, P: p, Src: src}.Rand()
}
