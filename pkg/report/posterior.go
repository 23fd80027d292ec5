package report

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// density is a posterior drawn on a plot: its density and the range that
// holds all but a negligible part of its mass.
type density struct {
	pdf    func(x float64) float64
	lo, hi float64
	// approx says the curve is matched to the reported interval rather
	// than rebuilt from the data.
	approx bool
}

// tail is the mass left out of a drawn range on each side.
const tail = 5e-4

// largeCount is where a Beta or Student-t is drawn through its normal
// limit: gonum's incomplete-beta inversion loses accuracy for parameters
// this large, and beyond it the two differ by less than a pixel.
const largeCount = 1e6

// ratioDensity rebuilds the Beta posterior of a ratio metric from its
// successes and trials under the engine's default prior, exactly as the
// statistics engine models it.
func ratioDensity(d stats.Data, pr stats.Priors) density {
	b := distuv.Beta{Alpha: pr.RatioA + d.Successes, Beta: pr.RatioB + d.Trials - d.Successes}
	if b.Alpha+b.Beta > largeCount {
		n := b.Alpha + b.Beta
		approx := distuv.Normal{Mu: b.Alpha / n, Sigma: math.Sqrt(b.Alpha * b.Beta / (n * n * (n + 1)))}
		return density{pdf: b.Prob, lo: approx.Quantile(tail), hi: approx.Quantile(1 - tail)}
	}
	return density{pdf: b.Prob, lo: b.Quantile(tail), hi: b.Quantile(1 - tail)}
}

// meanDensity draws the posterior of a mean metric: the Student-t marginal
// of the statistics engine's Normal-Inverse-Gamma model (stats.MeanPosterior).
func meanDensity(d stats.Data, pr stats.Priors) density {
	loc, scale, nu := stats.MeanPosterior(d, pr)
	t := distuv.StudentsT{Mu: loc, Sigma: scale, Nu: nu}
	if t.Nu > largeCount {
		approx := distuv.Normal{Mu: t.Mu, Sigma: t.Sigma}
		return density{pdf: approx.Prob, lo: approx.Quantile(tail), hi: approx.Quantile(1 - tail)}
	}
	return density{pdf: t.Prob, lo: t.Quantile(tail), hi: t.Quantile(1 - tail)}
}

// splitNormalDensity approximates a posterior known only by a center and
// its equal-tailed credible interval at level conf: a split normal (two
// half normals of scales sl and sr joined at the mode, continuous there)
// whose tails beyond the interval hold (1-conf)/2 each. Quantile metrics
// need it: their posterior is a Monte Carlo over a Dirichlet on the
// histogram, with no closed form to rebuild, and it is often skewed, which
// two scales show and one would hide. ok is false when the interval does
// not straddle the center (no data, or a bound beyond the histogram, which
// the assessment reports as 0).
func splitNormalDensity(mode, lower, upper, conf float64) (density, bool) {
	if !(lower < mode && mode < upper) || math.IsInf(lower, 0) || math.IsInf(upper, 0) {
		return density{}, false
	}
	alpha := (1 - conf) / 2
	sl, sr := splitScales(mode-lower, upper-mode, alpha)
	norm := 2 / (math.Sqrt(2*math.Pi) * (sl + sr))
	pdf := func(x float64) float64 {
		s := sr
		if x < mode {
			s = sl
		}
		u := (x - mode) / s
		return norm * math.Exp(-u*u/2)
	}
	d := density{pdf: pdf, approx: true}
	// The drawn range leaves tail mass out on each side, as for the
	// closed forms: solve (2 s/(sl+sr)) Φ(-k/s) = tail for the offset k.
	d.lo = mode - sl*distuv.UnitNormal.Quantile(1-tail*(sl+sr)/(2*sl))
	d.hi = mode + sr*distuv.UnitNormal.Quantile(1-tail*(sl+sr)/(2*sr))
	return d, true
}

// splitScales finds the scales of a split normal whose mass below mode-a
// and above mode+b are both alpha: (2 sl/(sl+sr)) Φ(-a/sl) = alpha and
// (2 sr/(sl+sr)) Φ(-b/sr) = alpha. Each left side grows with its own
// scale, so alternating bisections on one scale with the other fixed
// converge; the half-normal scales a/z and b/z start them close.
func splitScales(a, b, alpha float64) (sl, sr float64) {
	z := distuv.UnitNormal.Quantile(1 - alpha)
	sl, sr = a/z, b/z
	solve := func(d, other float64) float64 {
		f := func(s float64) float64 { return 2*s/(s+other)*distuv.UnitNormal.CDF(-d/s) - alpha }
		lo, hi := d/50, d*50
		for range 100 {
			mid := math.Sqrt(lo * hi)
			if f(mid) < 0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		return math.Sqrt(lo * hi)
	}
	for range 60 {
		sl = solve(a, sr)
		sr = solve(b, sl)
	}
	return sl, sr
}

// posteriorOf returns version i's posterior of metric m, or false when the
// version has no data on it or its interval is unusable.
func posteriorOf(m events.MetricSpec, d stats.Data, ma *events.MetricAssessment, conf float64) (density, bool) {
	pr := stats.DefaultPriors()
	switch m.Type {
	case events.MetricRatio:
		if d.Trials <= 0 {
			return density{}, false
		}
		return ratioDensity(d, pr), true
	case events.MetricMean:
		if d.Count <= 0 {
			return density{}, false
		}
		return meanDensity(d, pr), true
	}
	var n float64
	for _, c := range d.Counts {
		n += c
	}
	if n <= 0 || ma == nil || ma.Lower == nil || ma.Upper == nil {
		// No interval, or one unbounded above: nothing honest to draw.
		return density{}, false
	}
	lo, hi := *ma.Lower, *ma.Upper
	center := (lo + hi) / 2
	if ma.Mean != nil && lo < *ma.Mean && *ma.Mean < hi {
		center = *ma.Mean
	}
	return splitNormalDensity(center, lo, hi, conf)
}
