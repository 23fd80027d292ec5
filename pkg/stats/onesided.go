package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// This file holds the one-sided tests behind absolute limits on rates (and
// on the fraction of a histogram below a bound). An objective asks a
// one-sided question, "p <= L?", so each answer gets its own e-process
// (Robbins' method of mixtures with a prior on the alternative side only):
//
//	above: E = ∫_L^1 Π_x q(x)/L(x) dq/(1−L)   shows p > L
//	below: E = ∫_0^L Π_x q(x)/L(x) dq/L       shows p < L
//
// where q(x) = q^x (1−q)^(1−x). Each mixture component with q > L has mean
// at most one under every p <= L (E[q(x)/L(x)] = p q/L + (1−p)(1−q)/(1−L)
// increases in p and is 1 at p = L), so "above" is a supermartingale under
// p <= L, and symmetrically "below" under p >= L: by Ville's inequality each
// wrongly reaches 1/α with probability at most α, however often checked.
// Against the two-sided Beta(1, 1) confidence sequence it puts all its
// prior on the side it must show, which about halves the samples a verdict
// needs.
//
// In closed form, with s successes, f failures and B the beta function,
//
//	ln E_above = ln B(s+1, f+1) + ln I_{1−L}(f+1, s+1) − ln(1−L) − s ln L − f ln(1−L)
//	ln E_below = ln B(s+1, f+1) + ln I_L(s+1, f+1) − ln L − s ln L − f ln(1−L)
//
// I being the regularised incomplete beta function. Each tail is computed
// directly, never as 1 − I (which loses everything in double precision
// once I is near 1); a tail that underflows counts as no evidence.

// oneSidedLogE is ln E of the "above" (p > L) or "below" (p < L) mixture
// after s successes in n trials; 0 without trials, -Inf on underflow.
func oneSidedLogE(s, n, limit float64, above bool) float64 {
	if !(n > 0) {
		return 0
	}
	f := n - s
	tail := mathext.RegIncBeta(s+1, f+1, limit)
	norm := math.Log(limit)
	if above {
		tail = mathext.RegIncBeta(f+1, s+1, 1-limit)
		norm = math.Log1p(-limit)
	}
	if !(tail > 0) {
		return math.Inf(-1)
	}
	return mathext.Lbeta(s+1, f+1) + math.Log(tail) - norm - XLogY(s, limit) - XLogY(f, 1-limit)
}

// rateVerdict decides "p <= limit" (upper) or "p >= limit" for a rate seen
// as s successes in n trials, each answer at error alpha. Limits outside
// (0, 1) are decided by the data's bounds alone.
func rateVerdict(s, n, limit float64, upper bool, alpha float64) Verdict {
	if !(limit > 0 && limit < 1) {
		// p is in [0, 1]: a limit at or beyond an end decides itself.
		return intervalVerdict(0, 1, limit, upper)
	}
	level := -math.Log(alpha)
	return sidedVerdict(oneSidedLogE(s, n, limit, true) >= level, oneSidedLogE(s, n, limit, false) >= level, upper)
}

// sidedVerdict turns what the two one-sided tests showed, the value above
// or below the limit, into the verdict on an upper (or lower) limit.
func sidedVerdict(shownAbove, shownBelow, upper bool) Verdict {
	switch {
	case upper && shownBelow, !upper && shownAbove:
		return Satisfied
	case upper && shownAbove, !upper && shownBelow:
		return Violated
	}
	return Undecided
}
