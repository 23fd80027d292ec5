package collector

import (
	"fmt"
	"math"
	"slices"
)

// perBucket turns Prometheus's cumulative bucket counts (upper bound to the
// count of values at or below it, +Inf included) into iter8's per-bucket
// counts: finite bounds, and one count per bucket plus the overflow. Without
// a +Inf bucket, total stands for it. A count that would be negative,
// possible only when the buckets were read from different scrapes, is 0.
func perBucket(cum map[float64]float64, total float64) (bounds []float64, counts []int64) {
	for le := range cum {
		if !math.IsInf(le, 1) {
			bounds = append(bounds, le)
		}
	}
	slices.Sort(bounds)
	if inf, ok := cum[math.Inf(1)]; ok {
		total = inf
	}
	counts = make([]int64, len(bounds)+1)
	prev := 0.0
	for i, le := range bounds {
		counts[i] = count(cum[le] - prev)
		prev = max(prev, cum[le])
	}
	counts[len(bounds)] = count(total - prev)
	return bounds, counts
}

// scaled returns bounds multiplied by k.
func scaled(bounds []float64, k float64) []float64 {
	out := make([]float64, len(bounds))
	for i, b := range bounds {
		out[i] = b * k
	}
	return out
}

// sameBound compares bucket bounds after unit conversion, which may leave
// a rounding error in the last place (0.025 s is 25.000000000000004 ms).
func sameBound(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// rebin merges a histogram's buckets into coarser target bounds. Every
// target bound must be one of the source's bounds: merging is then exact,
// whereas splitting a bucket would invent where its values lie. Source
// buckets above the last target bound go to the overflow.
func rebin(bounds []float64, counts []int64, target []float64) ([]int64, error) {
	k := 0
	for _, t := range target {
		for k < len(bounds) && bounds[k] < t && !sameBound(bounds[k], t) {
			k++
		}
		if k == len(bounds) || !sameBound(bounds[k], t) {
			return nil, fmt.Errorf("bucket bound %v is not a bound of the Prometheus histogram %v", t, bounds)
		}
		k++
	}
	out := make([]int64, len(target)+1)
	j := 0
	for i, c := range counts {
		if i >= len(bounds) {
			out[len(target)] += c
			continue
		}
		// Each source bucket lies within one target bucket: the first
		// whose bound is not below the source's.
		for j < len(target) && target[j] < bounds[i] && !sameBound(target[j], bounds[i]) {
			j++
		}
		out[j] += c
	}
	return out, nil
}

// sumSquares estimates the sum of squares of n values whose exact sum is
// known, from their histogram; Prometheus histograms keep no second moment.
// The model is the one histogram_quantile interpolates with: values spread
// uniformly within each bucket, the first bucket starting at 0 (latencies
// are not negative). Values in the overflow bucket, which has no upper
// bound, sit at their mean, which the exact sum gives: the sum minus what
// the model puts in the finite buckets, and never below the last bound.
// The result is n*(mean² + variance) with the exact mean sum/n and the
// model's variance, so it is never below sum²/n and the observation is
// always valid. Uniform buckets give the midpoint variance plus width²/12
// per value: an over- rather than an under-estimate, which widens a mean
// metric's credible intervals and so errs on the side of caution.
func sumSquares(bounds []float64, counts []int64, n int64, sum float64) float64 {
	if n <= 0 {
		return 0
	}
	var k, s1, s2 float64
	lo := math.Min(0, firstOr(bounds, 0))
	for i, c := range counts[:min(len(bounds), len(counts))] {
		hi := bounds[i]
		if i > 0 {
			lo = bounds[i-1]
		}
		if c > 0 {
			f := float64(c)
			k += f
			s1 += f * (lo + hi) / 2
			s2 += f * (lo*lo + lo*hi + hi*hi) / 3
		}
	}
	if len(counts) > len(bounds) && counts[len(bounds)] > 0 {
		f := float64(counts[len(bounds)])
		at := (sum - s1) / f
		if len(bounds) > 0 {
			at = math.Max(at, bounds[len(bounds)-1])
		}
		k += f
		s1 += f * at
		s2 += f * at * at
	}
	variance := 0.0
	if k > 0 {
		variance = math.Max(0, s2/k-(s1/k)*(s1/k))
	}
	mean := sum / float64(n)
	return float64(n) * (mean*mean + variance)
}

func firstOr(s []float64, def float64) float64 {
	if len(s) == 0 {
		return def
	}
	return s[0]
}
