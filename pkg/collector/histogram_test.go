package collector

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPerBucket(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name       string
		cum        map[float64]float64
		total      float64
		wantBounds []float64
		wantCounts []int64
	}{
		{"cumulative to per bucket", map[float64]float64{0.1: 4, 0.5: 6, inf: 7}, 99, []float64{0.1, 0.5}, []int64{4, 2, 1}},
		{"total stands for a missing +Inf", map[float64]float64{1: 3, 2: 5}, 10, []float64{1, 2}, []int64{3, 2, 5}},
		{"a decrease is 0, not negative", map[float64]float64{1: 5, 2: 3, inf: 6}, 0, []float64{1, 2}, []int64{5, 0, 1}},
		{"only +Inf", map[float64]float64{inf: 2}, 0, nil, []int64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, c := perBucket(tt.cum, tt.total)
			if diff := cmp.Diff(tt.wantBounds, b); diff != "" {
				t.Errorf("bounds (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCounts, c); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRebin(t *testing.T) {
	knativeMs := scaled([]float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1}, 1000)
	tests := []struct {
		name    string
		bounds  []float64
		counts  []int64
		target  []float64
		want    []int64
		wantErr bool
	}{
		{"merge", []float64{5, 10, 25, 50, 100}, []int64{1, 2, 3, 4, 5, 6}, []float64{10, 50}, []int64{3, 7, 11}, false},
		{"identity", []float64{5, 10}, []int64{1, 2, 3}, []float64{5, 10}, []int64{1, 2, 3}, false},
		{"bounds converted from seconds still match", knativeMs, []int64{1, 1, 1, 1, 1, 1, 1}, []float64{25, 75}, []int64{3, 2, 2}, false},
		{"a bound between the source's", []float64{5, 10}, []int64{1, 2, 3}, []float64{7}, nil, true},
		{"a bound above the source's", []float64{5, 10}, []int64{1, 2, 3}, []float64{10, 20}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rebin(tt.bounds, tt.counts, tt.target)
			if (err != nil) != tt.wantErr {
				t.Fatalf("rebin error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rebin (-want +got):\n%s", diff)
			}
		})
	}
}

// The expectations follow from the documented model: a value in (lo, hi]
// is uniform there (E x = (lo+hi)/2, E x² = (lo²+lo·hi+hi²)/3), an overflow
// value sits at the overflow's mean, and the result is n(mean² + variance)
// with the exact mean.
func TestSumSquares(t *testing.T) {
	tests := []struct {
		name   string
		bounds []float64
		counts []int64
		n      int64
		sum    float64
		want   float64
	}{
		// U(0,10): variance 100/3 - 25 = 25/3; mean 5.
		{"one bucket", []float64{10}, []int64{4, 0}, 4, 20, 4 * (25 + 25.0/3)},
		// U(0,10) and U(10,20) together are U(0,20): variance 100/3; the
		// exact mean 8 replaces the model's 10.
		{"two buckets", []float64{10, 20}, []int64{1, 1, 0}, 2, 16, 2 * (64 + 100.0/3)},
		// The overflow value is 35 - 5 = 30; model mean 17.5 is exact.
		{"overflow at its mean", []float64{10}, []int64{1, 1}, 2, 35, 100.0/3 + 900},
		// The overflow's implied mean 7 is below the bound: it sits at 10.
		// Model: E x = 7.5, E x² = (100/3 + 100)/2; exact mean 6.
		{"overflow at least the last bound", []float64{10}, []int64{1, 1}, 2, 12, 2 * (36 + (100.0/3+100)/2 - 7.5*7.5)},
		{"no values", []float64{10}, []int64{0, 0}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sumSquares(tt.bounds, tt.counts, tt.n, tt.sum)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
				t.Errorf("sumSquares (-want +got):\n%s", diff)
			}
		})
	}
}

// Whatever the histogram, the estimate never implies a negative variance,
// which would make the observation invalid.
func TestSumSquaresIsValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bounds := []float64{5, 10, 25, 50, 75, 100, 250, 500, 750, 1000}
	for i := range 1000 {
		counts := make([]int64, len(bounds)+1)
		var n int64
		var sum float64
		for j := range counts {
			if rng.IntN(3) == 0 {
				continue
			}
			c := rng.Int64N(50)
			counts[j] += c
			n += c
			// A plausible sum: each value somewhere in its bucket.
			lo, hi := 0.0, 2000.0
			if j > 0 {
				lo = bounds[j-1]
			}
			if j < len(bounds) {
				hi = bounds[j]
			}
			for range c {
				sum += lo + rng.Float64()*(hi-lo)
			}
		}
		if n == 0 {
			continue
		}
		ss := sumSquares(bounds, counts, n, sum)
		mean := sum / float64(n)
		if mean*mean > ss/float64(n)*(1+1e-9) {
			t.Fatalf("case %d: counts %v sum %v: sumSquares %v < sum²/n = %v", i, counts, sum, ss, sum*sum/float64(n))
		}
	}
}
