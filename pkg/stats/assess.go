package stats

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// DefaultDraws is the number of joint posterior draws when Problem.Draws is
// 0. The Monte Carlo standard error of a probability is then at most
// 0.5/sqrt(1000) ≈ 0.016, below what anyone reads off a dashboard, and a
// 10-version, 5-metric assessment takes about 3.5 ms; the numbers that act
// (verdicts, Best) do not depend on the draws at all.
const DefaultDraws = 1000

// Assess assesses versions (index 0 = baseline) given data[version][metric].
// The Bayesian quantities (credible intervals, probabilities, expected loss)
// are for people to read; the verdicts and Best come from Decide and are the
// anytime-valid decisions that may act on traffic. Versions listed in
// excluded (may be nil) are treated as infeasible for ProbWin, TopTwo and
// Best. The result depends only on the arguments: the Monte Carlo is seeded
// from p.Seed, with an independent stream per (version, metric).
//
// Every probability comes from one set of joint posterior draws, metrics
// being independent a posteriori (the models treat each metric on its own).
// In each draw a version is feasible when all objectives hold in that draw
// (relative limits against the baseline's value in the same draw); the
// draw's winner is the non-excluded feasible version with the best reward,
// ties broken at random, and there is no winner when none is feasible.
func Assess(p Problem, data [][]Data, excluded []bool) (Assessment, error) {
	pr, data, err := check(p, data, excluded)
	if err != nil {
		return Assessment{}, err
	}
	dec := decide(p, pr, data, excluded)
	nv, nm := len(data), len(p.Metrics)
	nd := p.Draws
	if nd == 0 {
		nd = DefaultDraws
	}
	tail := (1 - p.Confidence) / 2

	// Only metrics that objectives, the reward or a quantile's summary
	// read need draws.
	slot := make([]int, nm)
	for i := range slot {
		slot[i] = -1
	}
	slots := 0
	need := func(i int) {
		if slot[i] < 0 {
			slot[i] = slots
			slots++
		}
	}
	for _, o := range p.Objectives {
		need(o.Metric)
	}
	if p.Reward != nil {
		need(p.Reward.Metric)
	}
	for i, m := range p.Metrics {
		if m.Kind == Quantile {
			need(i)
		}
	}
	buf := make([]float64, nv*slots*nd)
	draws := func(v, i int) []float64 {
		s := (v*slots + slot[i]) * nd
		return buf[s : s+nd]
	}

	res := Assessment{Versions: make([]VersionResult, nv), Best: dec.Best, Leader: -1}
	var scratch []float64
	for v := range nv {
		vr := &res.Versions[v]
		vr.Metrics = make([]MetricResult, nm)
		for i, m := range p.Metrics {
			d := data[v][i]
			vr.Samples = math.Max(vr.Samples, d.Samples(m.Kind))
			mr := &vr.Metrics[i]
			// Only a quantile's confidence sequence is read (experiment's
			// undecidable: a limit inside the one bucket it holds). A
			// ratio's or mean's verdicts compute what they need, and a mean's
			// costs a bisection every window, a third of a canary's
			// (BenchmarkObserveCanary), for nothing.
			mr.CSLower, mr.CSUpper = math.NaN(), math.NaN()
			if m.Kind == Quantile {
				mr.CSLower, mr.CSUpper = metricCS(m, d, dec.Alpha, pr)
			}
			var src *rand.Rand
			if slot[i] >= 0 {
				src = rand.New(rand.NewPCG(streamSeed(p.Seed, uint64(v), uint64(i))))
			}
			switch m.Kind {
			case Ratio:
				post := ratioPosterior(d, pr)
				mr.Mean = post.Mean()
				mr.Lower, mr.Upper = post.Quantile(tail), post.Quantile(1-tail)
				if src != nil {
					// post.Rand(), two Gamma draws, with their constants
					// set up once (gammaShape).
					ga, gb := newGammaShape(post.Alpha), newGammaShape(post.Beta)
					xs := draws(v, i)
					for j := range xs {
						x, y := ga.rand(src), gb.rand(src)
						xs[j] = x / (x + y)
					}
				}
			case Mean:
				post := meanPosterior(d, pr)
				// The location is the mean when it exists (nu > 1) and the
				// median always.
				mr.Mean = post.loc
				mr.Lower, mr.Upper = post.interval(p.Confidence)
				if src != nil {
					xs := draws(v, i)
					for j := range xs {
						xs[j] = post.rand(src)
					}
				}
			case Quantile:
				s := newQuantileSampler(d.Bounds, d.Counts, m.Q, quantilePrior(pr, d.Bounds))
				xs := draws(v, i)
				for j := range xs {
					xs[j] = s.rand(src)
				}
				mr.Mean = drawMean(xs)
				scratch = append(scratch[:0], xs...)
				mr.Lower, mr.Upper = empiricalInterval(scratch, tail)
			}
		}
		vr.ObjectiveVerdicts = dec.Verdicts[v]
		vr.Verdict = combine(dec.Verdicts[v])
	}
	joint(p, excluded, nd, draws, &res)
	return res, nil
}

// drawMean is the mean of the draws; when they hold both infinities the
// mean is undefined and the median stands in for it.
func drawMean(xs []float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	if math.IsInf(lo, -1) && math.IsInf(hi, 1) {
		mid := slices.Clone(xs)
		return orderStatistic(mid, empiricalIndex(0.5, len(mid)))
	}
	return stat.Mean(xs, nil)
}

// empiricalInterval is the equal-tailed interval of the draws, with the
// order statistics of stat.Empirical's quantile; it reorders xs.
func empiricalInterval(xs []float64, tail float64) (lo, hi float64) {
	i, j := empiricalIndex(tail, len(xs)), empiricalIndex(1-tail, len(xs))
	lo = orderStatistic(xs, i)
	if j == i {
		return lo, lo
	}
	// Selection leaves everything above index i to its right.
	return lo, orderStatistic(xs[i+1:], j-i-1)
}

// empiricalIndex is the index of the p-quantile among n sorted values: the
// smallest value whose empirical CDF reaches p.
func empiricalIndex(p float64, n int) int {
	return min(n-1, max(0, int(math.Ceil(p*float64(n)))-1))
}

// orderStatistic returns the k-th smallest of xs (0-based) by quickselect
// with a median-of-three pivot and three-way partitioning (runs of equal
// draws, such as +Inf from an overflow bucket, are common), reordering xs;
// sorting all draws to read two order statistics would be the slowest part
// of Assess.
func orderStatistic(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		a, b, c := xs[lo], xs[lo+(hi-lo)/2], xs[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		// xs[lo:lt] < pivot, xs[lt:i] == pivot, xs[gt+1:hi+1] > pivot.
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case xs[i] < pivot:
				xs[lt], xs[i] = xs[i], xs[lt]
				lt++
				i++
			case xs[i] > pivot:
				xs[gt], xs[i] = xs[i], xs[gt]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return pivot
		}
	}
	return xs[k]
}

// combine is Violated if any verdict is, Satisfied if all are (or there
// are none), else Undecided.
func combine(vs []Verdict) Verdict {
	out := Satisfied
	for _, v := range vs {
		switch v {
		case Violated:
			return Violated
		case Undecided:
			out = Undecided
		}
	}
	return out
}

// joint computes the probabilities that need the joint draws.
func joint(p Problem, excluded []bool, nd int, draws func(v, i int) []float64, res *Assessment) {
	nv, no := len(res.Versions), len(p.Objectives)
	holds := make([]int, nv*no)
	feasible := make([]int, nv)
	wins, seconds, beats := make([]int, nv), make([]int, nv), make([]int, nv)
	loss := make([]float64, nv)
	reward := make([]float64, nv)
	tie := rand.New(rand.NewPCG(streamSeed(p.Seed, math.MaxUint64, math.MaxUint64)))
	var rewardDraws [][]float64
	if p.Reward != nil {
		rewardDraws = make([][]float64, nv)
		for v := range nv {
			rewardDraws[v] = draws(v, p.Reward.Metric)
		}
	}
	objDraws := make([][]float64, nv*no)
	for v := range nv {
		for o, obj := range p.Objectives {
			objDraws[v*no+o] = draws(v, obj.Metric)
		}
	}
	for d := range nd {
		winner, second := -1, -1
		// Random tie-break keys; the salt is drawn only when a tie occurs.
		salt := uint64(0)
		key := func(v int) uint64 {
			if salt == 0 {
				salt = tie.Uint64() | 1
			}
			return splitmix64(salt + uint64(v))
		}
		for v := range nv {
			ok := true
			for o, obj := range p.Objectives {
				x := objDraws[v*no+o][d]
				limit := obj.Limit
				if obj.Relative {
					limit = scaled(obj.Limit, objDraws[o][d])
				}
				if obj.Upper && x <= limit || !obj.Upper && x >= limit {
					holds[v*no+o]++
				} else {
					ok = false
				}
			}
			if ok {
				feasible[v]++
			}
			if p.Reward == nil {
				continue
			}
			r := rewardDraws[v][d]
			if !p.Reward.Maximize {
				r = -r
			}
			reward[v] = r
			if v > 0 && r > reward[0] {
				beats[v]++
			}
			if !ok || (excluded != nil && excluded[v]) {
				continue
			}
			// Keep the top two by (reward, random key).
			switch {
			case winner < 0:
				winner = v
			case r > reward[winner] || r == reward[winner] && key(v) > key(winner):
				second, winner = winner, v
			case second < 0 || r > reward[second] || r == reward[second] && key(v) > key(second):
				second = v
			}
		}
		if winner < 0 {
			continue
		}
		wins[winner]++
		if second >= 0 {
			seconds[second]++
		} else {
			// A lone feasible version would be sampled again by top-two
			// Thompson sampling, so it takes both halves.
			seconds[winner]++
		}
		for v := range nv {
			if reward[v] < reward[winner] {
				loss[v] += reward[winner] - reward[v]
			}
		}
	}
	best := 0
	for v := range nv {
		vr := &res.Versions[v]
		vr.ObjectiveProbs = make([]float64, no)
		for o := range no {
			vr.ObjectiveProbs[o] = float64(holds[v*no+o]) / float64(nd)
		}
		vr.ProbFeasible = float64(feasible[v]) / float64(nd)
		if p.Reward == nil {
			vr.ProbBeatsBaseline, vr.ProbWin, vr.TopTwo, vr.ExpectedLoss = math.NaN(), math.NaN(), math.NaN(), math.NaN()
			continue
		}
		vr.ProbBeatsBaseline = math.NaN()
		if v > 0 {
			vr.ProbBeatsBaseline = float64(beats[v]) / float64(nd)
		}
		vr.ProbWin = float64(wins[v]) / float64(nd)
		vr.TopTwo = 0.5*vr.ProbWin + 0.5*float64(seconds[v])/float64(nd)
		vr.ExpectedLoss = loss[v] / float64(nd)
		if wins[v] > wins[best] {
			best = v
		}
	}
	if p.Reward != nil && wins[best] > 0 {
		res.Leader = best
	}
}

// scaled is c x with 0 x Inf = 0.
func scaled(c, x float64) float64 {
	if c == 0 {
		return 0
	}
	return c * x
}

// splitmix64 is the finaliser of Steele, Lea & Flood's SplitMix64; it turns
// structured seeds into well-mixed PCG states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// streamSeed derives the PCG state of the stream for (version, metric).
func streamSeed(seed, v, m uint64) (uint64, uint64) {
	return splitmix64(seed), splitmix64(seed ^ splitmix64(v<<32^m^0x5bd1e995))
}
