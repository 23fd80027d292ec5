package stats

import "math"

// The exact conditional e-value of a ratio metric's window (foldRatio, in
// evidence.go) needs the hypergeometric law's log moment generating
// function at every lift of its grid, in each direction: 128 sums over
// the window's successes, the evidence's hottest loop.

// hypergeometricLogWeights returns ln C(na, x) C(nb, s−x) for x from lo to
// min(na, s), unnormalised: the conditional law of a's successes given the
// window's total s when both versions convert alike.
func hypergeometricLogWeights(na, nb, s float64) ([]float64, float64) {
	lo, hi := math.Max(0, s-nb), math.Min(na, s)
	lw := make([]float64, int(hi-lo)+1)
	for i := 1; i < len(lw); i++ {
		x := lo + float64(i-1)
		lw[i] = lw[i-1] + math.Log((na-x)/(x+1)*(s-x)/(nb-s+x+1))
	}
	return lw, lo
}

// tilt is the log moment generating function of the hypergeometric law
// with log weights lw over x = lo, lo+1, …: at(ℓ) is
// ln Σ_x w_x e^{ℓx} − ln Σ_x w_x. The normaliser ln Σ_x w_x does not depend
// on ℓ, so it is computed once for the 64 lifts a window is folded at (it
// was half of foldRatio's exponentials). at(ℓ) adds the same terms in the
// same order as the direct sum, leaving out only those that cannot change
// it, so every ln e is bit for bit the direct sum's (TestTiltIsBitIdentical).
type tilt struct {
	lw         []float64
	lo         float64
	mx0, logS0 float64
}

func newTilt(lw []float64, lo float64) tilt {
	mx0 := math.Inf(-1)
	for _, w := range lw {
		// A plain comparison rather than math.Max, which spends its time
		// on NaN and signed zeros: every w is finite (a log of a positive
		// ratio), and the largest is what matters.
		if w > mx0 {
			mx0 = w
		}
	}
	s0 := 0.0
	for _, w := range lw {
		s0 += math.Exp(w - mx0)
	}
	return tilt{lw: lw, lo: lo, mx0: mx0, logS0: math.Log(s0)}
}

func (t tilt) at(l float64) float64 {
	mx, top := math.Inf(-1), 0
	for i, w := range t.lw {
		if x := w + l*(t.lo+float64(i)); x > mx {
			mx, top = x, i
		}
	}
	s := 0.0
	for i, w := range t.lw {
		x := w + l*(t.lo+float64(i)) - mx
		// Past the largest term s holds its exp(0) = 1, and a term below
		// e⁻⁴⁰ (< 2⁻⁵³, half an ulp of 1) rounds away when added: skipping
		// its exponential leaves s bit for bit as it was.
		if i > top && x < negligibleLogTerm {
			continue
		}
		s += math.Exp(x)
	}
	return mx + math.Log(s) - t.mx0 - t.logS0
}

// negligibleLogTerm is the log of a term that adding to a sum of at least
// 1 cannot change: e⁻⁴⁰ ≈ 4·10⁻¹⁸ is below 2⁻⁵³ ≈ 1.1·10⁻¹⁶ with room
// for the rounding of the term's exponent.
const negligibleLogTerm = -40
