package plan

import (
	"math"
	"math/rand/v2"
	"slices"
)

// The first-passage model of an ETA (docs/planning.md, "Which point is
// shown"): the evidence of a sequential test as Brownian motion X with drift
// μ > 0 and unit variance, started at 0, deciding at the first passage of
// a level b > 0. The decision time D is then inverse Gaussian IG(b/μ, b²),
// with mean b/μ and coefficient of variation 1/√(μb); by the Markov
// property, the remaining time from a state x < b at any moment is
// IG((b−x)/μ, (b−x)²), whatever the path, so its median is the ideal ETA:
// the best any estimate from the state can do. PassageAccuracy measures
// that ideal ETA against issue #19's target, which picks the moment by the
// run's own end, and against calibration at fixed moments, which does not;
// and the same for the ETA shown, the remaining time's ETALevel quantile.

// normalCDF is Φ.
func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// logNormalTail is log(1 − Φ(z)), finite where 1 − Φ(z) underflows:
// beyond z = 30, the asymptotic series of Mills' ratio,
// φ(z)/z·(1 − z⁻² + 3z⁻⁴ − 15z⁻⁶), relative error below 105·z⁻⁸ < 10⁻⁹.
func logNormalTail(z float64) float64 {
	if z < 30 {
		return math.Log(0.5 * math.Erfc(z/math.Sqrt2))
	}
	u := 1 / (z * z)
	return -z*z/2 - math.Log(z*math.Sqrt(2*math.Pi)) + math.Log(1-u+3*u*u-15*u*u*u)
}

// InverseGaussianCDF is P(T ≤ t) for T ~ IG(mean m, shape λ):
// Φ(√(λ/t)(t/m − 1)) + e^{2λ/m} Φ(−√(λ/t)(t/m + 1)), the second term in
// logs so that a large λ/m does not overflow.
func InverseGaussianCDF(t, m, lambda float64) float64 {
	if !(t > 0) {
		return 0
	}
	s := math.Sqrt(lambda / t)
	return normalCDF(s*(t/m-1)) + math.Exp(2*lambda/m+logNormalTail(s*(t/m+1)))
}

// InverseGaussianQuantile is the p-quantile of IG(m, λ), by bisection on
// a log scale within a bracket grown from the mean.
func InverseGaussianQuantile(p, m, lambda float64) float64 {
	lo, hi := m, m
	for InverseGaussianCDF(lo, m, lambda) >= p {
		lo /= 2
	}
	for InverseGaussianCDF(hi, m, lambda) < p {
		hi *= 2
	}
	for range 45 {
		mid := math.Sqrt(lo * hi)
		if InverseGaussianCDF(mid, m, lambda) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Sqrt(lo * hi)
}

// InverseGaussianMedian is the median of IG(m, λ).
func InverseGaussianMedian(m, lambda float64) float64 {
	return InverseGaussianQuantile(0.5, m, lambda)
}

// PassagePoint is the ideal ETA at one fraction of a path's own decision
// time (Own) or of the median decision time (Fixed), over the paths still
// running then.
type PassagePoint struct {
	Fraction float64 `json:"fraction"`
	Paths    int     `json:"paths"`
	// MedianRatio is the median over paths of ETA / actual remaining
	// time, with its 95% distribution-free interval.
	MedianRatio float64    `json:"medianRatio"`
	RatioCI     [2]float64 `json:"ratioCI"`
	// Below is the share of paths that decided before the ETA: ½ if
	// calibrated.
	Below float64 `json:"below"`
	// PointRatio, PointCI and PointBelow are the same for the ETA shown:
	// the ETALevel quantile of the remaining time (PointBelow is
	// ETALevel if calibrated).
	PointRatio float64    `json:"pointRatio"`
	PointCI    [2]float64 `json:"pointCI"`
	PointBelow float64    `json:"pointBelow"`
}

// PassageResult is PassageAccuracy's answer.
type PassageResult struct {
	CV    float64 `json:"cv"`
	Paths int     `json:"paths"`
	// Mean and Median are the decision time's, simulated and closed-form
	// (the mean's is 1: time is in units of the mean).
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	// BelowMedian is the share of simulated decision times at or below
	// the closed-form median: a check of the simulation (½ within MC
	// error).
	BelowMedian float64        `json:"belowMedian"`
	Own         []PassagePoint `json:"own"`
	Fixed       []PassagePoint `json:"fixed"`
}

// PassageFractions are issue #19's moments: 25%, 50% and 75%.
var PassageFractions = []float64{0.25, 0.5, 0.75}

// PassageAccuracy simulates paths of the first-passage model whose decision
// time has coefficient of variation cv, in units of its mean (μ = b = 1/cv),
// on a grid of steps steps per mean, seeded. A discretely monitored path
// would overshoot: it decides only at a grid point, late by about
// 0.58·√step in level (Siegmund's correction). Instead, between two grid
// points below b it decides with the Brownian bridge's crossing
// probability exp(−2(b−x₀)(b−x₁)/step), so no crossing is missed, and the
// decision time is put in the middle of its step: off by at most half a
// step. A path's state at a moment is its grid point nearest to it; the
// remaining time is counted from that grid point.
func PassageAccuracy(cv float64, paths, steps int, seed uint64) PassageResult {
	mu := 1 / cv
	b := mu
	dt := 1 / float64(steps)
	sq := math.Sqrt(dt)
	rng := rand.New(rand.NewPCG(seed, math.Float64bits(cv)))
	// eta is the median remaining time from level x, and shown its
	// ETALevel quantile: the ETA shown.
	eta := func(x float64) float64 { return InverseGaussianMedian((b-x)/mu, (b-x)*(b-x)) }
	shown := func(x float64) float64 { return InverseGaussianQuantile(ETALevel, (b-x)/mu, (b-x)*(b-x)) }
	median := InverseGaussianMedian(b/mu, b*b)
	res := PassageResult{CV: cv, Paths: paths, Median: median}
	own := make([]passageAcc, len(PassageFractions))
	fixed := make([]passageAcc, len(PassageFractions))
	var path []float64
	for range paths {
		path = append(path[:0], 0)
		var d float64
		for {
			x0 := path[len(path)-1]
			x1 := x0 + mu*dt + sq*rng.NormFloat64()
			if x1 >= b || rng.Float64() < math.Exp(-2*(b-x0)*(b-x1)/dt) {
				d = (float64(len(path)) - 0.5) * dt
				break
			}
			path = append(path, x1)
		}
		res.Mean += d / float64(paths)
		if d <= median {
			res.BelowMedian += 1 / float64(paths)
		}
		last := len(path) - 1
		for k, f := range PassageFractions {
			i := min(last, int(math.Round(f*d/dt)))
			own[k].add(eta(path[i]), shown(path[i]), d-float64(i)*dt)
			if i := int(math.Round(f * median / dt)); i <= last {
				fixed[k].add(eta(path[i]), shown(path[i]), d-float64(i)*dt)
			}
		}
	}
	for k, f := range PassageFractions {
		res.Own = append(res.Own, own[k].point(f))
		res.Fixed = append(res.Fixed, fixed[k].point(f))
	}
	return res
}

// passageAcc gathers the ratios and shares of the median ETA and of the
// ETA shown at one moment.
type passageAcc struct {
	ratios, shown []float64
	below, under  int
}

func (a *passageAcc) add(eta, shown, remaining float64) {
	a.ratios = append(a.ratios, eta/remaining)
	a.shown = append(a.shown, shown/remaining)
	if remaining < eta {
		a.below++
	}
	if remaining < shown {
		a.under++
	}
}

func (a *passageAcc) point(f float64) PassagePoint {
	p := PassagePoint{Fraction: f, Paths: len(a.ratios), MedianRatio: math.NaN(), PointRatio: math.NaN()}
	if p.Paths == 0 {
		return p
	}
	slices.Sort(a.ratios)
	slices.Sort(a.shown)
	p.MedianRatio, p.RatioCI = quantile(a.ratios, 0.5), quantileCI(a.ratios, 0.5)
	p.PointRatio, p.PointCI = quantile(a.shown, 0.5), quantileCI(a.shown, 0.5)
	p.Below = float64(a.below) / float64(p.Paths)
	p.PointBelow = float64(a.under) / float64(p.Paths)
	return p
}
