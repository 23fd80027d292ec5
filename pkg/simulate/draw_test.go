package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
)

func ref[T any](v T) *T { return &v }

func testSampler(seed uint64, versions int) *sampler {
	src := rand.NewPCG(seed, 7)
	return &sampler{versions: make([]string, versions), src: src, rng: rand.New(src)}
}

// draws is how many seeded draws each check averages over: enough for the
// tolerances below to catch a wrong mean or variance, and fast.
const draws = 4000

// checkMoments fails when the draws' mean is more than 5 standard errors
// from mean, or their variance more than relTol off variance.
func checkMoments(t *testing.T, what string, xs []float64, mean, variance, relTol float64) {
	t.Helper()
	m, v := stat.MeanVariance(xs, nil)
	if se := math.Sqrt(variance / float64(len(xs))); math.Abs(m-mean) > 5*se {
		t.Errorf("%s: mean %.6g, want %.6g ± %.3g", what, m, mean, 5*se)
	}
	if math.Abs(v/variance-1) > relTol {
		t.Errorf("%s: variance %.6g, want %.6g within %.0f%%", what, v, variance, 100*relTol)
	}
}

func TestSplitIsMultinomial(t *testing.T) {
	sm := testSampler(1, 3)
	percent := []int{20, 30, 50}
	const n = 1000
	got := make([][]float64, 3)
	for range draws {
		counts := sm.split(n, percent)
		total := int64(0)
		for i, c := range counts {
			got[i] = append(got[i], float64(c))
			total += c
		}
		if total != n {
			t.Fatalf("split of %d requests sums to %d", n, total)
		}
	}
	for i, p := range percent {
		q := float64(p) / 100
		checkMoments(t, fmt.Sprintf("version %d", i), got[i], n*q, n*q*(1-q), 0.1)
	}
	if c := testSampler(1, 2).split(50, nil); c[0] != 50 || c[1] != 0 {
		t.Errorf("split without traffic = %v, want all 50 on the first version", c)
	}
	if c := testSampler(1, 2).split(50, []int{0, 100}); c[0] != 0 || c[1] != 50 {
		t.Errorf("split 0/100 = %v, want [0 50]", c)
	}
}

func TestRatioAggregates(t *testing.T) {
	sm := testSampler(2, 1)
	m := events.MetricSpec{Name: "conversion", Type: events.MetricRatio}
	d := Dist{Bernoulli: ref(0.1)}
	var xs []float64
	for range draws {
		o := sm.observe(d, m, 0, 500)
		if *o.Trials != 500 {
			t.Fatalf("trials = %d, want 500", *o.Trials)
		}
		xs = append(xs, float64(*o.Successes))
	}
	checkMoments(t, "successes", xs, 50, 45, 0.1)
}

func TestMeanAggregates(t *testing.T) {
	tests := []struct {
		name string
		d    Dist
		n    int64
		// the per-request mean, variance and fourth central moment, from
		// which the sample mean's and sample variance's moments follow
		mean, variance, mu4 float64
	}{
		{"normal fast path", Dist{Normal: &NormalDist{Mean: ref(10.0), SD: ref(2.0)}}, 50, 10, 4, 3 * 16},
		{"normal one request", Dist{Normal: &NormalDist{Mean: ref(10.0), SD: ref(2.0)}}, 1, 10, 4, 3 * 16},
		{"bernoulli", Dist{Bernoulli: ref(0.3)}, 40, 0.3, 0.21, 0.3 * 0.7 * (1 - 3*0.3*0.7)},
		{"exponential", Dist{Exponential: &Exponential{Mean: ref(3.0)}}, 20, 3, 9, 9 * 81},
		{"lognormal", Dist{LogNormal: &LogNormal{Mu: ref(1.0), Sigma: ref(0.3)}}, 20,
			math.Exp(1 + 0.045), math.Expm1(0.09) * math.Exp(2+0.09), lognormalMu4(1, 0.3)},
	}
	m := events.MetricSpec{Name: "x", Type: events.MetricMean}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := testSampler(uint64(10+i), 1)
			var means, vars []float64
			for range draws {
				o := sm.observe(tt.d, m, 0, tt.n)
				n := float64(*o.Count)
				if n != float64(tt.n) {
					t.Fatalf("count = %v, want %d", n, tt.n)
				}
				if err := o.Validate(events.MetricMean); err != nil {
					t.Fatalf("invalid observation %+v: %v", o, err)
				}
				means = append(means, *o.Sum/n)
				if n > 1 {
					vars = append(vars, (*o.SumSquares-*o.Sum**o.Sum/n)/(n-1))
				}
			}
			n := float64(tt.n)
			checkMoments(t, "sample mean", means, tt.mean, tt.variance/n, 0.12)
			if tt.n > 1 {
				// Var(s²) = mu4/n − σ⁴(n−3)/(n(n−1)).
				vv := tt.mu4/n - tt.variance*tt.variance*(n-3)/(n*(n-1))
				checkMoments(t, "sample variance", vars, tt.variance, vv, 0.3)
			}
		})
	}
}

// lognormalMu4 is the fourth central moment of lognormal(mu, sigma).
func lognormalMu4(mu, sigma float64) float64 {
	raw := func(k float64) float64 { return math.Exp(k*mu + k*k*sigma*sigma/2) }
	m := raw(1)
	return raw(4) - 4*m*raw(3) + 6*m*m*raw(2) - 3*m*m*m*m
}

func TestHistogramAggregates(t *testing.T) {
	const n = 200
	t.Run("lognormal into default buckets", func(t *testing.T) {
		sm := testSampler(20, 1)
		m := events.MetricSpec{Name: "latency", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms"}
		sm.buckets = [][]float64{Buckets(m)}
		d := Dist{LogNormal: &LogNormal{Mu: ref(4.0), Sigma: ref(0.6)}}
		truth := distuv.LogNormal{Mu: 4, Sigma: 0.6}
		bounds := Buckets(m)
		per := make([][]float64, len(bounds)+1)
		for range draws / 4 {
			o := sm.observe(d, m, 0, n)
			if err := o.Validate(events.MetricQuantile); err != nil {
				t.Fatalf("invalid observation: %v", err)
			}
			for k, c := range o.Counts {
				per[k] = append(per[k], float64(c))
			}
		}
		for k := range per {
			lo, hi := 0.0, math.Inf(1)
			if k > 0 {
				lo = bounds[k-1]
			}
			if k < len(bounds) {
				hi = bounds[k]
			}
			p := truth.CDF(hi) - truth.CDF(lo)
			if p < 1e-3 {
				continue // too rare to test its variance
			}
			checkMoments(t, fmt.Sprintf("bucket (%v, %v]", lo, hi), per[k], n*p, n*p*(1-p), 0.2)
		}
	})
	t.Run("bernoulli", func(t *testing.T) {
		sm := testSampler(21, 1)
		m := events.MetricSpec{Name: "x", Type: events.MetricQuantile, Quantile: 0.5, Buckets: []float64{0.5, 2}}
		sm.buckets = [][]float64{m.Buckets}
		var ones []float64
		for range draws {
			o := sm.observe(Dist{Bernoulli: ref(0.25)}, m, 0, n)
			if o.Counts[0]+o.Counts[1] != n || o.Counts[2] != 0 {
				t.Fatalf("counts %v: want n values in the first two buckets", o.Counts)
			}
			ones = append(ones, float64(o.Counts[1]))
		}
		checkMoments(t, "ones", ones, n*0.25, n*0.25*0.75, 0.1)
	})
}

func TestWindowLeavesOutIdleVersions(t *testing.T) {
	s := loadTestScenario(t, "ab-conversion")
	sm := newSampler(s, s.Experiment.Defaulted(), 1)
	obs := sm.window([]int64{0, 10}, DefaultStart, DefaultStart.Add(Interval))
	if _, ok := obs.Versions["v1"]; ok {
		t.Error("window has data for v1, which served nothing")
	}
	if got := *obs.Versions["v2"]["conversion"].Trials; got != 10 {
		t.Errorf("v2 trials = %d, want 10", got)
	}
}

func TestRunSeedsDiffer(t *testing.T) {
	seen := map[uint64]string{}
	for seed := range uint64(4) {
		for run := range 100 {
			s := runSeed(seed, run)
			if prev, dup := seen[s]; dup {
				t.Fatalf("runSeed(%d, %d) = runSeed of %s", seed, run, prev)
			}
			seen[s] = fmt.Sprintf("(%d, %d)", seed, run)
		}
	}
}
