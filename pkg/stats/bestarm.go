package stats

import (
	"math"
)

// This file holds the anytime-valid best-version decision: the Chernoff
// generalized likelihood ratio (GLR) stopping rule of Garivier & Kaufmann
// ("Optimal best arm identification with fixed confidence", COLT 2016)
// with the threshold of Kaufmann & Koolen ("Mixture martingales revisited
// with applications to sequential tests and confidence intervals", JMLR
// 22(246), 2021).

// hInv inverts h(u) = u - ln u on u >= 1, for x >= 1.
func hInv(x float64) float64 {
	return bisect(func(u float64) bool { return u-math.Log(u) < x }, 1, 2*x+2)
}

// hTildeCut is h^{-1}(1/ln(3/2)), where h~ changes form.
var hTildeCut = hInv(1 / math.Log(1.5))

// hTilde is Kaufmann & Koolen's h~(x) = e^{1/h^{-1}(x)} h^{-1}(x) for
// x >= h^{-1}(1/ln(3/2)), else (3/2)(x - ln ln(3/2)).
func hTilde(x float64) float64 {
	if x >= hTildeCut {
		u := hInv(x)
		return math.Exp(1/u) * u
	}
	return 1.5 * (x - math.Log(math.Log(1.5)))
}

// KaufmannKoolenT is the calibration function
//
//	T(x) = 2 h~( (h^{-1}(1 + x) + ln(2 zeta(2))) / 2 )
//
// of Kaufmann & Koolen (2021): for any two arms a, b of a one-parameter
// exponential family sampled adaptively, the probability that ever
// N_a kl(muhat_a, mu_a) + N_b kl(muhat_b, mu_b) exceeds
// 2 T(x/2) + 3 ln(1 + ln N_a) + 3 ln(1 + ln N_b) is at most e^{-x}.
// T(x) is close to x + 4 ln(1 + x + sqrt(2x)) for x >= 5.
func KaufmannKoolenT(x float64) float64 {
	return 2 * hTilde((hInv(1+x)+math.Log(math.Pi*math.Pi/3))/2)
}

// BestArmThreshold is the GLR threshold
//
//	beta(N_a, N_b, delta) = 2 T( ln(P/delta)/2 ) + 3 ln(1 + ln N_a) + 3 ln(1 + ln N_b)
//
// with P = versions(versions-1)/2 the number of pairs of versions. A false
// best version needs the GLR of some truly-worse version against a truly
// better one to cross its threshold; each pair does so with probability at
// most delta/P (KaufmannKoolenT), so the union over pairs is at most delta.
// All pairs rather than the K-1 pairs with the true best: the set of
// versions competing (the non-excluded ones) changes with the data.
func BestArmThreshold(na, nb float64, versions int, delta float64) float64 {
	pairs := float64(versions) * float64(versions-1) / 2
	return 2*KaufmannKoolenT(math.Log(math.Max(1, pairs)/delta)/2) +
		3*math.Log1p(math.Log(math.Max(1, na))) + 3*math.Log1p(math.Log(math.Max(1, nb)))
}

// BestArm returns the version shown best on the reward metric m with error
// at most delta however often it is called, or -1. data[v] is version v's
// reward data; excluded versions (may be nil) neither compete nor count as
// rivals, and a version alone among the non-excluded is best by default.
// Every competing version needs minSamples observations (minAsymptoticSamples
// for Mean rewards) first.
//
// With evidence (see evidence.go; the engine always keeps it), Ratio and
// Mean rewards are decided by the pairwise e-processes: a is best when its
// ln E_ab reaches BestEvidence against every competing b. Without it (a
// caller with totals only), they fall back to the rules below.
//
// Ratio rewards use the mixture e-process of evalue.go. (The Bernoulli GLR of
// the empirical leader a against each rival b,
//
//	Z_ab = N_a kl(muhat_a, m) + N_b kl(muhat_b, m),  m = (N_a muhat_a + N_b muhat_b)/(N_a + N_b),
//
// and a is best when Z_ab > BestArmThreshold for every rival (Garivier &
// Kaufmann 2016, the Chernoff stopping rule; exact for Bernoulli rewards). Mean
// rewards use the Gaussian GLR Z_ab = (muhat_a - muhat_b)²/(2(s_a²/N_a + s_b²/N_b))
// with the regularised variance estimates of meanVariance: exact for
// Gaussians of known variance, asymptotically valid with estimated ones.
// Quantile rewards, having no exponential-family GLR, are decided by
// separation of the versions' QuantileCS at delta/K each: a is best when
// its CS lies entirely on the better side of every rival's.
func BestArm(m Metric, maximize bool, data []Data, excluded []bool, delta float64, pr Priors, ev *Evidence) int {
	k := len(data)
	competing, last := 0, -1
	floor := float64(minSamples)
	if m.Kind == Mean {
		floor = minAsymptoticSamples
	}
	enough := true
	for v := range k {
		if excluded != nil && excluded[v] {
			continue
		}
		competing++
		last = v
		if data[v].Samples(m.Kind) < floor {
			enough = false
		}
	}
	switch {
	case competing == 0:
		return -1
	case competing == 1:
		return last
	case !enough:
		return -1
	}
	if m.Kind == Quantile {
		return bestBySeparation(m, maximize, data, excluded, delta, pr)
	}
	if ev != nil {
		return bestByEvidence(m.Kind, *ev, k, excluded, delta)
	}
	// The empirical leader, on the sign-adjusted scale.
	est := func(v int) float64 {
		x := data[v].Mu
		if m.Kind == Ratio {
			x = data[v].Successes / data[v].Trials
		}
		if !maximize {
			x = -x
		}
		return x
	}
	leader := -1
	for v := range k {
		if (excluded == nil || !excluded[v]) && (leader < 0 || est(v) > est(leader)) {
			leader = v
		}
	}
	for v := range k {
		if v == leader || (excluded != nil && excluded[v]) {
			continue
		}
		if !(est(leader) > est(v)) {
			return -1
		}
		var z, na, nb float64
		a, b := data[leader], data[v]
		if m.Kind == Ratio {
			// The mixture e-process of evalue.go needs far less evidence
			// than the GLR threshold below; see there. For a minimised
			// ratio, a's failures are the successes.
			if !maximize {
				a.Successes, b.Successes = a.Trials-a.Successes, b.Trials-b.Successes
			}
			if !(logEvidenceRatio(a, b, pr.RatioA, pr.RatioB) > BestArmEvidence(k, delta)) {
				return -1
			}
			continue
		} else {
			na, nb = a.Count, b.Count
			diff := a.Mu - b.Mu
			z = diff * diff / (2 * (meanVariance(a, pr)/na + meanVariance(b, pr)/nb))
		}
		if !(z > BestArmThreshold(na, nb, k, delta)) {
			return -1
		}
	}
	return leader
}

// bestByEvidence finds the version whose e-process against every competing
// version has reached BestEvidence; -1 when none has.
func bestByEvidence(kind Kind, ev Evidence, k int, excluded []bool, delta float64) int {
	level := BestEvidence(k, delta)
	return dominant(k, excluded, func(a, b int) bool {
		e, ok := ev.logE(kind, a, b)
		return ok && e >= level
	})
}

// dominant is the first competing version that beats every other competing
// version, or -1.
func dominant(k int, excluded []bool, beats func(a, b int) bool) int {
	for a := range k {
		if excluded != nil && excluded[a] {
			continue
		}
		best := true
		for b := range k {
			if b == a || (excluded != nil && excluded[b]) {
				continue
			}
			if !beats(a, b) {
				best = false
				break
			}
		}
		if best {
			return a
		}
	}
	return -1
}

// bestBySeparation finds the version whose quantile CS is entirely better
// than every competing version's, each CS at level delta/K so that all
// hold at once with probability 1 - delta.
func bestBySeparation(m Metric, maximize bool, data []Data, excluded []bool, delta float64, pr Priors) int {
	k := len(data)
	lo, hi := make([]float64, k), make([]float64, k)
	for v := range k {
		lo[v], hi[v] = QuantileCS(data[v], m.Q, delta/float64(k), pr)
	}
	// Quantiles lie in (lo, hi]: a beats b surely when lo_a >= hi_b
	// (maximise) or hi_a <= lo_b (minimise).
	return dominant(k, excluded, func(a, b int) bool {
		return maximize && lo[a] >= hi[b] || !maximize && hi[a] <= lo[b]
	})
}
