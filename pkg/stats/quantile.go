package stats

import (
	"math"
	"math/rand/v2"
)

// This file holds the posterior of a Quantile metric: a Dirichlet over the
// histogram's bucket masses and a within-bucket model that turns a draw of
// the masses into a quantile, plus the model bracket that widens the
// credible interval where the within-bucket model may be wrong.

// quantileSampler draws the q-quantile of a histogram's distribution under
// the Dirichlet posterior of its bucket masses. A draw of the masses fixes
// the CDF F at every bound; the within-bucket model (interpolate) places
// the quantile inside the bucket where F reaches q. The first bucket starts
// at 0 when the first bound is positive (latencies, sizes) and at -Inf
// otherwise; the overflow bucket above the last bound ends at +Inf. Draws
// landing in an unbounded bucket take its infinite edge, which is the honest
// answer ("beyond the histogram") and conservative for upper limits.
//
// Only buckets that can plausibly hold the quantile, and two more on each
// side for the model's neighbours, are drawn one by one; the buckets below
// and above are drawn as two aggregated Gamma variates and split lazily in
// the rare draw whose quantile falls among them. By the aggregation
// property of the Dirichlet (a group's total is independent of the
// proportions inside it) this is exact, not an approximation; it only
// saves time.
type quantileSampler struct {
	q, zq          float64   // the quantile and its probit
	alpha          []float64 // posterior concentration per bucket
	lo, hi         []float64 // bucket edges
	logLo, logHi   []float64 // their logs, for the within-bucket model
	w0, w1         int       // the individually drawn window, inclusive
	aBelow, aAbove float64   // concentrations of the aggregated groups
	// shapes are the Gamma samplers of the window's buckets (indexed from
	// w0) and of the aggregated groups, set up once for all draws.
	shapes                 []gammaShape
	shapeBelow, shapeAbove gammaShape
	g                      []float64 // scratch Gamma variates
	v0, v1                 int       // the buckets whose g is drawn in this draw
	// Per bucket, from the counts: whether its edges' CDF values rest on
	// data (edgeCount observations on each side) and whether the bucket
	// below and the one above may shape it (neighbourCount observations in
	// them, edgeCount beyond them).
	edgesOK, leftOK, rightOK []bool
}

// windowSDs is how many posterior standard deviations of a bucket edge's
// cumulative mass the window spans on each side of q.
const windowSDs = 4

func newQuantileSampler(bounds, counts []float64, q, prior float64) *quantileSampler {
	k := len(bounds) + 1
	s := &quantileSampler{
		q:     q,
		zq:    probit(q),
		alpha: make([]float64, k),
		lo:    make([]float64, k),
		hi:    make([]float64, k),
		logLo: make([]float64, k),
		logHi: make([]float64, k),
		g:     make([]float64, k),
	}
	total := 0.0
	for j := range k {
		s.alpha[j] = prior
		if j < len(counts) {
			s.alpha[j] += counts[j]
		}
		total += s.alpha[j]
		if j < len(bounds) {
			s.hi[j] = bounds[j]
		} else {
			s.hi[j] = math.Inf(1)
		}
		switch {
		case j > 0:
			s.lo[j] = bounds[j-1]
		case len(bounds) > 0 && bounds[0] > 0:
			s.lo[j] = 0
		default:
			s.lo[j] = math.Inf(-1)
		}
		s.logLo[j], s.logHi[j] = math.Log(s.lo[j]), math.Log(s.hi[j])
	}
	// The cumulative mass F_j up to bucket j is Beta(C_j, A - C_j).
	s.w0, s.w1 = -1, k-1
	cum := 0.0
	for j := range k {
		cum += s.alpha[j]
		m := cum / total
		sd := math.Sqrt(m * (1 - m) / (total + 1))
		if s.w0 < 0 && m+windowSDs*sd >= q {
			s.w0 = j
		}
		if s.w0 >= 0 && m-windowSDs*sd >= q {
			s.w1 = j
			break
		}
	}
	if s.w0 < 0 {
		s.w0 = k - 1
	}
	s.shapeBuckets(bounds, counts)
	s.setWindow(max(0, s.w0-2), min(k-1, s.w1+2))
	return s
}

// setWindow makes buckets w0 to w1 the individually drawn window and the
// rest the two aggregated groups.
func (s *quantileSampler) setWindow(w0, w1 int) {
	s.w0, s.w1 = w0, w1
	s.aBelow, s.aAbove = 0, 0
	for j := range w0 {
		s.aBelow += s.alpha[j]
	}
	for j := w1 + 1; j < len(s.alpha); j++ {
		s.aAbove += s.alpha[j]
	}
	s.shapes = s.shapes[:0]
	for j := w0; j <= w1; j++ {
		s.shapes = append(s.shapes, newGammaShape(s.alpha[j]))
	}
	s.shapeBelow, s.shapeAbove = newGammaShape(s.aBelow), newGammaShape(s.aAbove)
}

// rand draws one posterior quantile. Bucket masses are Gamma variates
// normalised by their total (the standard Dirichlet construction); the
// quantile is found in unnormalised units, target = q x total.
func (s *quantileSampler) rand(src *rand.Rand) float64 {
	below := s.shapeBelow.rand(src)
	total := below
	for j := s.w0; j <= s.w1; j++ {
		s.g[j] = s.shapes[j-s.w0].rand(src)
		total += s.g[j]
	}
	above := s.shapeAbove.rand(src)
	total += above
	target := s.q * total
	s.v0, s.v1 = s.w0, s.w1
	if target <= below && s.w0 > 0 {
		return s.split(0, s.w0-1, below, 0, total, target, src)
	}
	cum := below
	for j := s.w0; j <= s.w1; j++ {
		if cum+s.g[j] >= target {
			return s.interpolate(j, cum, s.g[j], total, target, src)
		}
		cum += s.g[j]
	}
	if s.w1+1 < len(s.alpha) {
		return s.split(s.w1+1, len(s.alpha)-1, above, cum, total, target, src)
	}
	return s.interpolate(s.w1, cum-s.g[s.w1], s.g[s.w1], total, target, src)
}

// split draws the proportions inside an aggregated group [from, to] whose
// total is groupTotal and locates the target in it.
func (s *quantileSampler) split(from, to int, groupTotal, cum, total, target float64, src *rand.Rand) float64 {
	sum := 0.0
	for j := from; j <= to; j++ {
		s.g[j] = newGammaShape(s.alpha[j]).rand(src)
		sum += s.g[j]
	}
	scale := groupTotal / sum
	for j := from; j <= to; j++ {
		s.g[j] *= scale
	}
	s.v0, s.v1 = min(s.v0, from), max(s.v1, to)
	for j := from; j <= to; j++ {
		if cum+s.g[j] >= target || j == to {
			return s.interpolate(j, cum, s.g[j], total, target, src)
		}
		cum += s.g[j]
	}
	panic("unreachable")
}

// Thresholds of the within-bucket model, in observations.
const (
	// edgeCount: below it, the CDF at a bucket edge rests on the prior
	// more than on data (0 observations beyond the edge of a p99 bucket
	// would put the edge's probit wherever the prior's pseudo-counts do).
	edgeCount = 3
	// neighbourCount: below it, a neighbouring bucket's shape is noise.
	neighbourCount = 10
)

// shapeBuckets fills edgesOK, leftOK and rightOK from the counts.
func (s *quantileSampler) shapeBuckets(bounds, counts []float64) {
	k := len(s.alpha)
	s.edgesOK, s.leftOK, s.rightOK = make([]bool, k), make([]bool, k), make([]bool, k)
	raw := make([]float64, k) // observations <= the bucket's upper edge
	c := 0.0
	for j := range k {
		if j < len(counts) {
			c += counts[j]
		}
		raw[j] = c
	}
	n := c
	count := func(j int) float64 {
		if j < len(counts) {
			return counts[j]
		}
		return 0
	}
	for j := 1; j < len(bounds); j++ {
		s.edgesOK[j] = raw[j-1] >= edgeCount && n-raw[j] >= edgeCount
		s.leftOK[j] = j >= 2 && bounds[j-2] > 0 && count(j-1) >= neighbourCount && raw[j-2] >= edgeCount
		s.rightOK[j] = j+1 < len(bounds) && count(j+1) >= neighbourCount && n-raw[j+1] >= edgeCount
	}
}

// interpolate places the target inside bucket j, whose cumulative masses
// at its edges are cum and cum+mass (of total). The model: g(u), the probit
// of the CDF against u = log x, is smooth. A lognormal latency makes g a
// line, so the chord through the bucket's edges is exact for it. Curvature
// (a mixture, a tail) is taken from the neighbours: the parabola through
// the bucket's edges and the bound below it, and the one through its edges
// and the bound above. Each draw takes a uniformly random point between
// the two parabolas' answers, or between the one parabola's and the
// chord's, so the interval spans what the shapes allow.
// Where an edge rests on the prior rather than on data (edgeCount), the
// draw lies between the neighbour's line extended into the bucket and the
// chord through the weak edge's (wide) posterior draw; with nothing to go
// on, the draw is uniform in log x over the bucket, so the interval widens
// to the bucket's edges: the histogram says no more. Buckets reaching 0 or
// below use the chord in x rather than log x.
func (s *quantileSampler) interpolate(j int, cum, mass, total, target float64, src *rand.Rand) float64 {
	lo, hi := s.lo[j], s.hi[j]
	if math.IsInf(hi, 1) || math.IsInf(lo, -1) {
		if math.IsInf(hi, 1) {
			return hi
		}
		return lo
	}
	zlo, zhi := probit(cum/total), probit((cum+mass)/total)
	if !(lo > 0) {
		if math.IsInf(zlo, 0) || math.IsInf(zhi, 0) || !(zhi > zlo) {
			frac := 1.0
			if mass > 0 {
				frac = math.Min(1, math.Max(0, (target-cum)/mass))
			}
			return lo + frac*(hi-lo)
		}
		return lo + math.Min(1, math.Max(0, (s.zq-zlo)/(zhi-zlo)))*(hi-lo)
	}
	ul, uh := s.logLo[j], s.logHi[j]
	// Neighbouring bounds and their probits, when drawn and informative.
	left, right := j >= 1 && s.leftOK[j] && j-1 >= s.v0, j+1 < len(s.alpha)-1 && s.rightOK[j] && j+1 <= s.v1
	var u0, z0, u3, z3 float64
	if left {
		u0, z0 = s.logLo[j-1], probit((cum-s.g[j-1])/total)
	}
	if right {
		u3, z3 = s.logHi[j+1], probit((cum+mass+s.g[j+1])/total)
	}
	var xs [2]float64
	n := 0
	if s.edgesOK[j] {
		if left {
			if u, ok := parabolaRoot(u0, z0, ul, zlo, uh, zhi, ul, uh, s.zq); ok {
				xs[n], n = u, n+1
			}
		}
		if right {
			if u, ok := parabolaRoot(ul, zlo, uh, zhi, u3, z3, ul, uh, s.zq); ok {
				xs[n], n = u, n+1
			}
		}
		if n < 2 {
			// One parabola or none: the chord is the other shape.
			if u, ok := lineRoot(ul, zlo, uh, zhi, ul, uh, s.zq); ok {
				xs[n], n = u, n+1
			}
		}
	} else {
		switch {
		case left && !math.IsInf(zlo, 0):
			if u, ok := lineRoot(u0, z0, ul, zlo, ul, uh, s.zq); ok {
				xs[n], n = u, n+1
			}
		case right && !math.IsInf(zhi, 0):
			if u, ok := lineRoot(uh, zhi, u3, z3, ul, uh, s.zq); ok {
				xs[n], n = u, n+1
			}
		}
		// The chord on the weak edge's posterior draw is the other
		// shape: together they span a straight and a bent tail.
		if u, ok := lineRoot(ul, zlo, uh, zhi, ul, uh, s.zq); ok {
			xs[n], n = u, n+1
		}
	}
	switch n {
	case 0:
		return math.Exp(ul + uniform(src)*(uh-ul))
	case 1:
		return math.Exp(xs[0])
	}
	return math.Exp(xs[0] + uniform(src)*(xs[1]-xs[0]))
}

// uniform is a uniform variate in [0, 1) from src.
func uniform(src *rand.Rand) float64 {
	return float64(src.Uint64()>>11) / (1 << 53)
}

// lineRoot solves the line through (u1, z1), (u2, z2) for z = zq, clamped
// to [ul, uh]; ok is false for a flat, falling or infinite line.
func lineRoot(u1, z1, u2, z2, ul, uh, zq float64) (float64, bool) {
	if !(z2 > z1) || math.IsInf(z1, 0) || math.IsInf(z2, 0) {
		return 0, false
	}
	return math.Min(uh, math.Max(ul, u1+(zq-z1)*(u2-u1)/(z2-z1))), true
}

// parabolaRoot solves the parabola through three points (Newton's form)
// for z = zq in [ul, uh], where it crosses zq, in closed form (about 30%
// of Assess's time went to a bisection here); ok is false when a value is
// infinite or the parabola does not cross zq there.
func parabolaRoot(u0, z0, u1, z1, u2, z2, ul, uh, zq float64) (float64, bool) {
	for _, z := range []float64{z0, z1, z2} {
		if math.IsInf(z, 0) || math.IsNaN(z) {
			return 0, false
		}
	}
	s01 := (z1 - z0) / (u1 - u0)
	a := ((z2-z1)/(u2-u1) - s01) / (u2 - u0)
	f := func(u float64) float64 { return z0 + s01*(u-u0) + a*(u-u0)*(u-u1) - zq }
	h, um := (uh-ul)/2, (ul+uh)/2
	fl, fm, fh := f(ul), f(um), f(uh)
	if fl > 0 || fh < 0 {
		return 0, false
	}
	// f(um + x) = fm + B x + A x² exactly, for x in [-h, h].
	B, A := (fh-fl)/(2*h), (fh-2*fm+fl)/(2*h*h)
	var x float64
	if math.Abs(A)*h < 1e-12*math.Abs(B) || B == 0 && A == 0 {
		if B == 0 {
			return um, true
		}
		x = -fm / B
	} else {
		d := B*B - 4*A*fm
		if d < 0 {
			d = 0
		}
		q := -(B + math.Copysign(math.Sqrt(d), B)) / 2
		x1, x2 := q/A, math.Inf(1)
		if q != 0 {
			x2 = fm / q
		}
		// The root in [-h, h]: f changes sign there, so one exists.
		x = x1
		if math.Abs(x2) <= math.Abs(x1) || math.Abs(x1) > h*(1+1e-9) {
			x = x2
		}
	}
	return math.Min(uh, math.Max(ul, um+x)), true
}

// probit is the standard normal quantile function.
func probit(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}
