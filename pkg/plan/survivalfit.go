package plan

import "math"

// survivalCurve is the smoothed survival probability of the survival
// correction: logit P_λ = A + B·ln λ. A run's time to a decision scales
// about as 1/λ² (the samples a test needs grow as one over the squared
// difference), so P_λ(no decision in t windows) = S(t·λ²/c) for the
// survival function S of a time to a decision at λ = 1: a function of
// ln λ alone, which the logistic in ln λ models with one location and
// one slope.
type survivalCurve struct{ A, B float64 }

// logP is ln P_λ, computed stably.
func (c survivalCurve) logP(lambda float64) float64 {
	return -softplus(-(c.A + c.B*math.Log(lambda)))
}

// fitSurvival fits the curve by maximum likelihood to alive[k] of runs
// runs still undecided at lambdas[k], every run of every λ counting, so
// each P_λ rests on all of them rather than on its own 24 runs. Half a
// run alive and half decided are added at each λ: a Jeffreys-like
// pseudo-count that keeps the fit finite when the λ grid separates the
// outcomes (all alive below some λ, none above), as it does late in a
// run.
func fitSurvival(lambdas, alive []float64, runs int) survivalCurve {
	n := float64(runs) + 1
	y := make([]float64, len(alive))
	mean := 0.0
	for k := range alive {
		y[k] = alive[k] + 0.5
		mean += y[k] / n / float64(len(alive))
	}
	c := survivalCurve{A: math.Log(mean / (1 - mean))}
	loglik := func(c survivalCurve) float64 {
		l := 0.0
		for k, lam := range lambdas {
			x := c.A + c.B*math.Log(lam)
			l += y[k]*x - n*softplus(x)
		}
		return l
	}
	for range 100 {
		// Newton's step on the binomial log-likelihood: score g, observed
		// information H (positive definite while the design has two
		// distinct λ).
		var g0, g1, h00, h01, h11 float64
		for k, lam := range lambdas {
			u := math.Log(lam)
			p := 1 / (1 + math.Exp(-(c.A + c.B*u)))
			r := y[k] - n*p
			w := n * p * (1 - p)
			g0 += r
			g1 += r * u
			h00 += w
			h01 += w * u
			h11 += w * u * u
		}
		det := h00*h11 - h01*h01
		if !(det > 0) {
			break
		}
		dA, dB := (h11*g0-h01*g1)/det, (h00*g1-h01*g0)/det
		l0 := loglik(c)
		step := 1.0
		for range 30 {
			next := survivalCurve{A: c.A + step*dA, B: c.B + step*dB}
			if loglik(next) >= l0 {
				c = next
				break
			}
			step /= 2
		}
		if math.Abs(dA)+math.Abs(dB) < 1e-10 {
			break
		}
	}
	return c
}

// softplus is ln(1 + eˣ), computed stably.
func softplus(x float64) float64 {
	return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}
