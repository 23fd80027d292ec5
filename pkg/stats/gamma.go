package stats

import (
	"math"
	"math/rand/v2"
)

// gammaShape draws Gamma(a, 1) variates: the Dirichlet draws of Quantile
// metrics and the Beta draws of Ratio metrics, the engine's hottest loop.
// It is gonum's distuv.Gamma.Rand (Marsaglia and Tsang, 2000, with Liu,
// Martin and Syring's sampler below a = 0.2) with the constants that depend
// only on a computed once per shape rather than once per draw, and one
// rand.Rand over the source rather than a new one per draw: it takes the
// same variates from the stream in the same order and does the same
// floating-point operations on them, so every draw is bit-identical to
// gonum's (TestGammaShapeMatchesGonum), and so is every assessment.
type gammaShape struct {
	a float64
	// Liu, Martin and Syring (a < 0.2): lambda = 1/a − 1 and
	// lr = −ln(1 + 1/(lambda e)).
	lambda, lr float64
	// Marsaglia and Tsang (a ≥ 0.2): d = a − 1/3 (+1 below a = 1, where a
	// uniform's 1/a-th power scales the draw), c = 1/(3√d).
	d, c, invA float64
}

// smallGammaShape is gonum's threshold between the two samplers.
const smallGammaShape = 0.2

func newGammaShape(a float64) gammaShape {
	g := gammaShape{a: a}
	switch {
	case a < 0 || math.IsNaN(a):
		panic("gamma: alpha < 0")
	case a == 0, a == 1:
	case a < smallGammaShape:
		g.lambda = 1/a - 1
		g.lr = -math.Log1p(1 / g.lambda / math.E)
	default:
		g.d = a - 1.0/3
		if a < 1 {
			g.d += 1.0
			g.invA = 1 / a
		}
		g.c = 1 / (3 * math.Sqrt(g.d))
	}
	return g
}

// rand draws one variate; a shape of 0 is the point mass at 0 and draws
// nothing (a bucket of a Dirichlet with no mass).
func (g gammaShape) rand(r *rand.Rand) float64 {
	a := g.a
	switch {
	case a == 0:
		return 0
	case a == 1:
		return r.ExpFloat64()
	case a < smallGammaShape:
		lambda, lr := g.lambda, g.lr
		for {
			e := r.ExpFloat64()
			var z float64
			if e >= -lr {
				z = e + lr
			} else {
				z = -r.ExpFloat64() / lambda
			}
			eza := math.Exp(-z / a)
			lh := -z - eza
			var lEta float64
			if z >= 0 {
				lEta = -z
			} else {
				lEta = -1 + lambda*z
			}
			if lh-lEta > -r.ExpFloat64() {
				return eza
			}
		}
	}
	d, c := g.d, g.c
	m := 1.0
	if a < 1 {
		m = math.Pow(r.Float64(), g.invA)
	}
	for {
		x := r.NormFloat64()
		v := 1 + x*c
		if v <= 0.0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1.0-0.0331*(x*x)*(x*x) {
			return m * d * v
		}
		if math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return m * d * v
		}
	}
}
