package stats

import (
	"math"
	"slices"
)

// This file holds the reward e-processes the best-version decision acts on
// when the caller keeps their state between windows (Problem.Evidence).
//
// For every ordered pair of versions (a, b) there is one nonnegative
// process E_ab, a product over windows of e-values e_w for the one-sided
// null "a is not better than b". Each e_w is built only from what was known
// before window w (a predictable plug-in), so E_ab is a supermartingale
// under that null whatever the windows' sizes and however traffic was
// allocated from past data; by Ville's inequality E_ab ever reaches 1/x
// with probability at most x. Version a is shown best when E_ab >= K/δ
// against every competing b.
//
// Why K/δ and not one share per ordered pair: a promotion is wrong when the
// promoted version a is not the unique best feasible version. Then there is
// a feasible version f(a) != a at least as good as a (the lowest-indexed
// best feasible version other than a), fixed by the truth alone. While the
// objective verdicts are right (their own budget), feasible versions are
// never excluded and infeasible ones never promoted, so promoting a needs
// E_{a f(a)} to cross: one fixed null pair per version, K pairs, δ/K each.
// In an A/A/…/A test every version is best and feasible, so "some winner",
// counting every version, has probability at most δ.
//
// Ratio rewards (Robbins' method of mixtures over the log odds ratio ℓ of
// a 2x2 table per window). Given the window's counts n_a, n_b and its total
// successes s, a's successes X follow Fisher's noncentral hypergeometric law
// with odds ratio ψ = odds_a/odds_b, whatever the common rate, so
//
//	e_w(ℓ) = e^{ℓ X} / E_{ψ=1}[e^{ℓ X} | s],  ℓ > 0,
//
// (the conditional likelihood ratio of ψ = e^ℓ against ψ = 1) has
// E[e_w | past, n_a, n_b, s] <= 1 whenever ψ <= 1, because the law of X
// increases stochastically with ψ. It needs no estimate of the nuisance
// rate, uses every window including the first, and is exact for any window
// composition. Windows with more than maxExactWindow requests of either
// version, whose exact sum is costly, use the RIPr e-value of Turner &
// Grünwald ("Exact anytime-valid confidence intervals for contingency
// tables and beyond", 2023) instead,
//
//	e_w(ℓ) = Π_{a's outcomes} q_a(x)/q̄(x) · Π_{b's outcomes} q_b(x)/q̄(x),
//
// with logit θ_a = logit m + ℓ/2, logit θ_b = logit m − ℓ/2, θ̄ the
// count-weighted mean of θ_a and θ_b, and m the pooled rate of the pair's
// earlier windows: under p_a <= p_b, ln E[e_w | past, n_a, n_b] <=
// Σ_v n_v A_v (p_v − θ̄) <= 0 with A_v = (θ_v − θ̄)/(θ̄(1−θ̄)). E_ab mixes
// Π_w e_w(ℓ) over a fixed discrete prior on the lift ℓ > 0 (liftGrid): a
// mixture of supermartingales is one.
//
// Mean rewards (the Gaussian likelihood ratio, whose common-mean nuisance
// cancels): with D_w the difference of the window's two means, v_w its
// variance s_a²/n_a + s_b²/n_b from the pair's earlier windows and σ̄_w a
// scale from them too, the likelihood ratio of a difference ησ̄_w against 0,
//
//	ln e_w(η) = η σ̄_w D_w/v_w − η² σ̄_w²/(2 v_w),
//
// so ln Π_w e_w(η) = η G − η² H/2 with G = Σ σ̄_w D_w/v_w and H = Σ σ̄_w²/v_w,
// mixed over the standardised effect η > 0 in closed form. η is in units of
// the metric's own spread, so milliseconds and seconds decide identically.
// The guarantee is asymptotic like every mean rule here: exact for
// Gaussian windows with the plug-in variance at least the true one.

// Evidence is the running state of the reward e-processes, one per ordered
// pair of versions. The zero value is the state before any data; Fold
// returns the next. It is plain data so that any process can decode it.
type Evidence struct {
	// Ratio[i] holds ordered pair i's ln e on liftGrid, for Ratio rewards;
	// pairs are ordered as pairIndex says.
	Ratio [][]float64 `json:"r,omitempty"`
	// G and H are each unordered pair's (a < b, pairIndex(a, b)/2) sums for
	// Mean rewards, in the direction "a better than b"; the reverse
	// direction has −G.
	G []float64 `json:"g,omitempty"`
	H []float64 `json:"h,omitempty"`
}

// Mixing priors. Only power depends on them: any fixed choice is valid.
var (
	// liftScales are the half-normal scales of the log-odds lift ℓ, mixed
	// with equal weight: typical A/B lifts, from a few percent to about
	// twice the odds (larger lifts are still decided, and quickly).
	liftScales = []float64{0.05, 0.1, 0.2, 0.4, 0.8}
	// effectScales are the half-normal scales of the standardised mean
	// effect η (Cohen's d), mixed with equal weight.
	effectScales = []float64{0.02, 0.05, 0.1, 0.2, 0.5, 1}
)

// liftGridSize is the number of lifts the ratio mixture is evaluated at.
const liftGridSize = 32

// liftGrid and liftLogWeights are the discrete lift prior: log-spaced lifts
// from 0.01 to 4 with the liftScales mixture's mass of each cell,
// normalised to one.
var liftGrid, liftLogWeights = makeLiftGrid()

func makeLiftGrid() ([]float64, []float64) {
	const lo, hi = 0.01, 4.0
	grid := make([]float64, liftGridSize)
	for i := range grid {
		grid[i] = lo * math.Pow(hi/lo, float64(i)/(liftGridSize-1))
	}
	w := make([]float64, liftGridSize)
	total := 0.0
	for i, l := range grid {
		// The cell from halfway to the previous lift to halfway to the
		// next (from 0 for the first, to +Inf for the last).
		left, right := 0.0, math.Inf(1)
		if i > 0 {
			left = (grid[i-1] + l) / 2
		}
		if i < liftGridSize-1 {
			right = (grid[i+1] + l) / 2
		}
		for _, tau := range liftScales {
			w[i] += math.Erf(right/(tau*math.Sqrt2)) - math.Erf(left/(tau*math.Sqrt2))
		}
		total += w[i]
	}
	lw := make([]float64, liftGridSize)
	for i := range w {
		lw[i] = math.Log(w[i] / total)
	}
	return grid, lw
}

// pairIndex numbers the ordered pairs (a, b), a != b, of any number of
// versions: (0,1)=0, (1,0)=1, (0,2)=2, (2,0)=3, (1,2)=4, (2,1)=5, ... so
// that adding versions never renumbers earlier pairs.
func pairIndex(a, b int) int {
	lo, hi := min(a, b), max(a, b)
	i := 2 * (hi*(hi-1)/2 + lo)
	if a > b {
		i++
	}
	return i
}

// BestEvidence is the level every e-process of a best version must reach:
// ln(K/δ), one share of δ per version (see the top of this file).
func BestEvidence(versions int, delta float64) float64 {
	return math.Log(math.Max(1, float64(versions)) / delta)
}

// Fold returns the evidence after one more window. before[v] is version
// v's reward data over every earlier window and window[v] its data in this
// one; m is the reward metric and maximize its direction. Fold never
// modifies e. Quantile rewards keep no evidence (they are decided by
// separation of confidence sequences).
func (e Evidence) Fold(m Metric, maximize bool, before, window []Data) Evidence {
	k := len(before)
	switch m.Kind {
	case Ratio:
		out := Evidence{Ratio: make([][]float64, k*(k-1))}
		for i := range out.Ratio {
			out.Ratio[i] = make([]float64, liftGridSize)
			if i < len(e.Ratio) {
				copy(out.Ratio[i], e.Ratio[i])
			}
		}
		for a := range k {
			for b := a + 1; b < k; b++ {
				foldRatio(out.Ratio[pairIndex(a, b)], out.Ratio[pairIndex(b, a)], maximize, before[a], before[b], window[a], window[b])
			}
		}
		return out
	case Mean:
		out := Evidence{G: make([]float64, k*(k-1)/2), H: make([]float64, k*(k-1)/2)}
		copy(out.G, e.G)
		copy(out.H, e.H)
		for a := range k {
			for b := a + 1; b < k; b++ {
				i := pairIndex(a, b) / 2
				g, h := meanIncrement(before[a], before[b], window[a], window[b])
				if !maximize {
					g = -g
				}
				out.G[i] += g
				out.H[i] += h
			}
		}
		return out
	}
	return e
}

// foldRatio adds one window to the ln e of "a better than b" (ab) and of
// "b better than a" (ba) at every lift.
func foldRatio(ab, ba []float64, maximize bool, pa, pb, wa, wb Data) {
	if !maximize {
		// a's rate is lower exactly when its failure rate is higher.
		ab, ba = ba, ab
	}
	sa, na, sb, nb := wa.Successes, wa.Trials, wb.Successes, wb.Trials
	if !(na > 0 && nb > 0) {
		// One version alone carries no evidence about the pair.
		return
	}
	if min(na, nb) <= maxExactWindow {
		t := newTilt(hypergeometricLogWeights(na, nb, sa+sb))
		for g, l := range liftGrid {
			ab[g] = roundDown(ab[g] + l*sa - t.at(l))
			ba[g] = roundDown(ba[g] - l*sa - t.at(-l))
		}
		return
	}
	past := pa.Trials + pb.Trials
	if !(past > 0) {
		// No plug-in yet: the window only informs later ones.
		return
	}
	pooled := (pa.Successes + pb.Successes + 0.5) / (past + 1)
	center := math.Log(pooled / (1 - pooled))
	for g, l := range liftGrid {
		hi, lo := sigmoid(center+l/2), sigmoid(center-l/2)
		ab[g] = roundDown(ab[g] + windowLogE(hi, lo, sa, na, sb, nb))
		ba[g] = roundDown(ba[g] + windowLogE(lo, hi, sa, na, sb, nb))
	}
}

// maxExactWindow is the most requests of either version in one window for
// which the exact conditional e-value is computed (its cost grows with the
// window); larger windows use the plug-in RIPr e-value, valid as well.
const maxExactWindow = 5000

// windowLogE is ln e_w for alternative rates ta (of a) and tb (of b).
func windowLogE(ta, tb, sa, na, sb, nb float64) float64 {
	mean := (na*ta + nb*tb) / (na + nb)
	return XLogY(sa, ta/mean) + XLogY(na-sa, (1-ta)/(1-mean)) +
		XLogY(sb, tb/mean) + XLogY(nb-sb, (1-tb)/(1-mean))
}

// roundDown keeps stored ln e short (four decimals) and only ever lowers
// it, so the stored process stays below the exact one and keeps its
// guarantee.
func roundDown(x float64) float64 { return math.Floor(x*1e4) / 1e4 }

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// XLogY is x·ln y with 0·ln 0 = 0: a count of zero at a rate of zero adds
// nothing to a log-likelihood (and 0·ln y is 0 for every y, even 0).
func XLogY(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(y)
}

// meanIncrement is one window's (σ̄_w D_w/v_w, σ̄_w²/v_w) for "a better than b"
// on a maximised mean, 0 until each version has minAsymptoticSamples
// earlier observations to estimate its variance from. The variances are
// the earlier windows' sample variances, inflated by 1 + 2/√n so that
// underestimates, which would make the process anticonservative, are rare.
func meanIncrement(pa, pb, wa, wb Data) (g, h float64) {
	if !(wa.Count > 0 && wb.Count > 0) || pa.Count < minAsymptoticSamples || pb.Count < minAsymptoticSamples {
		return 0, 0
	}
	va := pa.M2 / (pa.Count - 1) * (1 + 2/math.Sqrt(pa.Count))
	vb := pb.M2 / (pb.Count - 1) * (1 + 2/math.Sqrt(pb.Count))
	scale2 := (va + vb) / 2
	if !(scale2 > 0) {
		return 0, 0
	}
	v := va/wa.Count + vb/wb.Count
	return math.Sqrt(scale2) * (wa.Mu - wb.Mu) / v, scale2 / v
}

// logE returns ln E_ab of the ordered pair (a, b) for kind k, and whether
// the evidence holds that pair at all.
func (e Evidence) logE(k Kind, a, b int) (float64, bool) {
	i := pairIndex(a, b)
	switch k {
	case Ratio:
		if i >= len(e.Ratio) || len(e.Ratio[i]) != liftGridSize {
			return 0, false
		}
		return logSumExp(liftLogWeights, e.Ratio[i]), true
	case Mean:
		if i/2 >= len(e.G) || i/2 >= len(e.H) {
			return 0, false
		}
		g := e.G[i/2]
		if a > b {
			g = -g
		}
		return halfNormalMixture(g, e.H[i/2], effectScales), true
	}
	return 0, false
}

// logSumExp is ln Σ exp(w_i + x_i).
func logSumExp(w, x []float64) float64 {
	mx := math.Inf(-1)
	for i := range x {
		mx = math.Max(mx, w[i]+x[i])
	}
	if math.IsInf(mx, 0) {
		return mx
	}
	s := 0.0
	for i := range x {
		s += math.Exp(w[i] + x[i] - mx)
	}
	return mx + math.Log(s)
}

// halfNormalMixture is ln ∫_0^∞ exp(η g − η² h/2) dπ(η) for π the
// equal-weight mixture of half-normals of the given scales:
//
//	∫ = 2/√(1+hτ²) · exp(g²/(2(h+τ⁻²))) · Φ(g/√(h+τ⁻²)),
//
// computed in logs (Φ through erfc, accurate far in its lower tail).
func halfNormalMixture(g, h float64, scales []float64) float64 {
	terms := make([]float64, len(scales))
	w := make([]float64, len(scales))
	for i, tau := range scales {
		p := h + 1/(tau*tau)
		z := g / math.Sqrt(p)
		terms[i] = math.Ln2 - 0.5*math.Log1p(h*tau*tau) + z*z/2 + logPhi(z)
		w[i] = -math.Log(float64(len(scales)))
	}
	return logSumExp(w, terms)
}

// logPhi is ln Φ(z) for the standard normal CDF Φ.
func logPhi(z float64) float64 {
	if z > -30 {
		return math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
	}
	// Mills ratio: Φ(z) ≈ φ(z)/|z| (1 − 1/z² + 3/z⁴).
	return -z*z/2 - math.Log(-z*math.Sqrt(2*math.Pi)) + math.Log1p(-1/(z*z)+3/(z*z*z*z))
}

// Clone returns a deep copy of e.
func (e Evidence) Clone() *Evidence {
	c := Evidence{G: slices.Clone(e.G), H: slices.Clone(e.H)}
	if e.Ratio != nil {
		c.Ratio = make([][]float64, len(e.Ratio))
		for i, r := range e.Ratio {
			c.Ratio[i] = slices.Clone(r)
		}
	}
	return &c
}
