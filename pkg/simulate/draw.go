package simulate

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
)

// sampler draws one run's traffic. Each interval's aggregates have exactly
// the distribution of aggregating per-request draws, but are drawn with
// fast paths where one exists:
//
//   - the split of an interval's requests over versions is multinomial,
//     drawn as a chain of conditional binomials;
//   - a ratio metric (bernoulli) is one Binomial(n, p) draw of the
//     successes;
//   - a mean metric with a normal truth is drawn through its sufficient
//     statistics: the sample mean is Normal(mean, sd²/n) and, independently,
//     the sum of squared deviations is sd²·χ²(n−1) (Cochran's theorem), so
//     sum = n·mean and sumSquares = SS + n·mean² are exact;
//   - a mean metric with a bernoulli truth has sum = sumSquares = the
//     Binomial number of ones.
//
// Lognormal and exponential means, and every histogram, are drawn request
// by request: their (sum, sumSquares) and bucket counts have no cheaper
// exact form.
type sampler struct {
	metrics  []events.MetricSpec
	versions []string
	dists    [][]Dist    // [version][metric]
	buckets  [][]float64 // [metric]; nil unless quantile
	src      rand.Source
	rng      *rand.Rand
}

func newSampler(s Scenario, spec events.ExperimentSpec, seed uint64) *sampler {
	versions := spec.Versions()
	src := rand.NewPCG(seed, mix(seed^0x9e3779b97f4a7c15))
	sm := &sampler{
		metrics: spec.Metrics, versions: versions,
		dists:   make([][]Dist, len(versions)),
		buckets: make([][]float64, len(spec.Metrics)),
		src:     src, rng: rand.New(src),
	}
	for i, v := range versions {
		sm.dists[i] = make([]Dist, len(spec.Metrics))
		for j, m := range spec.Metrics {
			sm.dists[i][j] = s.Truth[v][m.Name]
		}
	}
	for j, m := range spec.Metrics {
		if m.Type == events.MetricQuantile {
			sm.buckets[j] = Buckets(m)
		}
	}
	return sm
}

// split draws how many of n requests each version serves when version i
// gets percent[i] of the traffic. A nil split sends all to the first
// version (a performance experiment's only one).
func (sm *sampler) split(n int64, percent []int) []int64 {
	out := make([]int64, len(sm.versions))
	if percent == nil {
		out[0] = n
		return out
	}
	left, mass := n, 0
	for _, p := range percent {
		mass += p
	}
	for i, p := range percent {
		if left == 0 || mass <= 0 {
			break
		}
		if i == len(percent)-1 || p >= mass {
			out[i] = left
			break
		}
		out[i] = sm.binomial(left, float64(p)/float64(mass))
		left -= out[i]
		mass -= p
	}
	return out
}

func (sm *sampler) binomial(n int64, p float64) int64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	}
	return int64(distuv.Binomial{N: float64(n), P: p, Src: sm.src}.Rand())
}

// window draws the aggregates of counts[v] requests per version into one
// metrics.observed window [start, end). Versions that served nothing are
// left out, as a collector leaves out a revision without data.
func (sm *sampler) window(counts []int64, start, end time.Time) events.MetricsObserved {
	obs := events.NewMetricsObserved(start, end)
	for i, v := range sm.versions {
		n := counts[i]
		if n == 0 {
			continue
		}
		for j, m := range sm.metrics {
			obs.Set(v, m.Name, sm.observe(sm.dists[i][j], m, j, n))
		}
	}
	return obs
}

func (sm *sampler) observe(d Dist, m events.MetricSpec, j int, n int64) events.Observation {
	switch m.Type {
	case events.MetricRatio:
		return events.Ratio(sm.binomial(n, *d.Bernoulli), n)
	case events.MetricMean:
		sum, sq := sm.moments(d, n)
		return events.Mean(n, sum, sq)
	}
	bounds := sm.buckets[j]
	counts := make([]int64, len(bounds)+1)
	if d.Bernoulli != nil {
		ones := sm.binomial(n, *d.Bernoulli)
		counts[sort.SearchFloat64s(bounds, 1)] += ones
		counts[sort.SearchFloat64s(bounds, 0)] += n - ones
		return events.Histogram(bounds, counts)
	}
	if n >= BulkHistogram {
		sm.multinomial(n, d, bounds, counts)
		return events.Histogram(bounds, counts)
	}
	for range n {
		// SearchFloat64s finds the first bound >= x: bucket (b[k-1], b[k]].
		counts[sort.SearchFloat64s(bounds, sm.one(d))]++
	}
	return events.Histogram(bounds, counts)
}

// BulkHistogram is the number of requests from which a window's histogram
// is drawn as one multinomial over the buckets (O(buckets)) rather than
// request by request (O(n)): the same distribution, a different stream.
// The shared scenarios stay below it, so their benchmark figures do not
// move; a planned experiment on a busy Service goes above it.
const BulkHistogram = 5000

// multinomial draws the bucket counts of n values of the continuous d as
// a chain of conditional binomials over the buckets' probabilities.
func (sm *sampler) multinomial(n int64, d Dist, bounds []float64, counts []int64) {
	left, below := n, 0.0
	for k := range counts {
		if left == 0 {
			return
		}
		if k == len(counts)-1 {
			counts[k] = left
			return
		}
		cdf := d.CDF(bounds[k])
		if mass := 1 - below; mass > 0 {
			counts[k] = sm.binomial(left, (cdf-below)/mass)
		}
		left -= counts[k]
		below = cdf
	}
}

// moments draws the sum and sum of squares of n values of d.
func (sm *sampler) moments(d Dist, n int64) (sum, sq float64) {
	switch {
	case d.Bernoulli != nil:
		k := float64(sm.binomial(n, *d.Bernoulli))
		return k, k
	case d.Normal != nil:
		fn := float64(n)
		mean := distuv.Normal{Mu: *d.Normal.Mean, Sigma: *d.Normal.SD / math.Sqrt(fn), Src: sm.src}.Rand()
		ss := 0.0
		if n > 1 {
			ss = *d.Normal.SD * *d.Normal.SD * distuv.ChiSquared{K: fn - 1, Src: sm.src}.Rand()
		}
		return fn * mean, ss + fn*mean*mean
	}
	for range n {
		x := sm.one(d)
		sum += x
		sq += x * x
	}
	return sum, sq
}

// one draws a single value of d.
func (sm *sampler) one(d Dist) float64 {
	switch {
	case d.Bernoulli != nil:
		if sm.rng.Float64() < *d.Bernoulli {
			return 1
		}
		return 0
	case d.Normal != nil:
		return *d.Normal.Mean + *d.Normal.SD*sm.rng.NormFloat64()
	case d.LogNormal != nil:
		return math.Exp(*d.LogNormal.Mu + *d.LogNormal.Sigma*sm.rng.NormFloat64())
	}
	return *d.Exponential.Mean * sm.rng.ExpFloat64()
}

// mix is the SplitMix64 finaliser: it turns (seed, run) pairs that differ
// in a bit into unrelated stream seeds.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// runSeed is run i's seed under the benchmark's seed.
func runSeed(seed uint64, run int) uint64 { return mix(mix(seed) ^ uint64(run)) }
