package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// binned is n values of lognormal(mu, sigma) in the buckets, at their
// expected counts.
func binned(bounds []float64, mu, sigma, n float64) stats.Data {
	d := stats.Data{Bounds: bounds, Counts: make([]float64, len(bounds)+1)}
	below := 0.0
	for k := range d.Counts {
		cdf := 1.0
		if k < len(bounds) {
			cdf = distuv.LogNormal{Mu: mu, Sigma: sigma}.CDF(bounds[k])
		}
		d.Counts[k] = n * (cdf - below)
		below = cdf
	}
	return d
}

// At the expected counts of a lognormal the grouped-data MLE is the
// lognormal itself, in Knative's coarse buckets too; the interpolated
// quantiles it starts from are not, and they missed the fraction below
// 100 ms that a 150 ms limit on the p95 is decided on.
func TestGroupedFitRecoversTheLognormal(t *testing.T) {
	m := events.MetricSpec{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95}
	d := binned(events.KnativeLatencyBounds, 4, 0.3, 1000)
	got, ok := fitHistogram(m, d, DefaultCV, nil)
	if !ok || got.LogNormal == nil {
		t.Fatalf("fit %+v, %v", got, ok)
	}
	if mu, s := *got.LogNormal.Mu, *got.LogNormal.Sigma; math.Abs(mu-4) > 1e-3 || math.Abs(s-0.3) > 1e-3 {
		t.Errorf("MLE mu %v sigma %v, want 4 and 0.3", mu, s)
	}
	want := distuv.LogNormal{Mu: 4, Sigma: 0.3}.CDF(100)
	if f := got.CDF(100); math.Abs(f-want) > 1e-3 {
		t.Errorf("F(100) %v, want %v", f, want)
	}
}

// With buckets fine enough to lose nothing, the observed information of
// the grouped MLE is the ungrouped lognormal's, n·diag(1/σ², 2) in
// (μ, ln σ), and the draws' covariance its inverse.
func TestGroupedFitInformation(t *testing.T) {
	const mu, sigma, n = 4.0, 0.3, 2000.0
	var bounds []float64
	for x := 2.0; x < 6; x += 0.005 {
		bounds = append(bounds, math.Exp(x))
	}
	h, ok := fitGrouped(binned(bounds, mu, sigma, n), mu+0.01, sigma*1.05)
	if !ok || h.chol == nil {
		t.Fatal("no fit")
	}
	var cov mat.SymDense
	h.chol.ToSym(&cov)
	want := [2]float64{sigma * sigma / n, 1 / (2 * n)}
	for i, w := range want {
		if got := cov.At(i, i); math.Abs(got/w-1) > 0.02 {
			t.Errorf("var[%d] %v, want %v", i, got, w)
		}
	}
	if c := cov.At(0, 1); math.Abs(c) > 0.02*math.Sqrt(want[0]*want[1]) {
		t.Errorf("cov %v, want 0", c)
	}
	// The draws follow it.
	rng := rand.New(rand.NewPCG(1, 2))
	var s, s2 float64
	const draws = 20000
	for range draws {
		m, _ := h.draw(rng)
		s += m
		s2 += m * m
	}
	v := s2/draws - (s/draws)*(s/draws)
	if math.Abs(v/want[0]-1) > 0.05 {
		t.Errorf("drawn var(mu) %v, want %v", v, want[0])
	}
}
