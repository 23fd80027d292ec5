package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// TestBetaBinomialCSDefinition compares the bisection with a direct scan
// of {p : L(p) >= alpha m} on a fine grid.
func TestBetaBinomialCSDefinition(t *testing.T) {
	cases := []struct{ s, n, a, b, alpha float64 }{
		{0, 20, 1, 1, 0.05},
		{20, 20, 1, 1, 0.05},
		{7, 50, 1, 1, 0.01},
		{130, 1000, 0.5, 0.5, 0.001},
		{1, 3, 1, 1, 0.2},
	}
	for _, c := range cases {
		logm := mathext.Lbeta(c.a+c.s, c.b+c.n-c.s) - mathext.Lbeta(c.a, c.b)
		inside := func(p float64) bool {
			l := 0.0
			if c.s > 0 {
				l += c.s * math.Log(p)
			}
			if c.n-c.s > 0 {
				l += (c.n - c.s) * math.Log1p(-p)
			}
			return l >= math.Log(c.alpha)+logm
		}
		const grid = 200000
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i <= grid; i++ {
			if p := float64(i) / grid; inside(p) {
				lo, hi = math.Min(lo, p), math.Max(hi, p)
			}
		}
		glo, ghi := BetaBinomialCS(c.s, c.n, c.a, c.b, c.alpha)
		if math.Abs(glo-lo) > 2.0/grid || math.Abs(ghi-hi) > 2.0/grid {
			t.Errorf("%+v: CS [%v, %v], grid scan [%v, %v]", c, glo, ghi, lo, hi)
		}
	}
	if lo, hi := BetaBinomialCS(0, 0, 1, 1, 0.05); lo != 0 || hi != 1 {
		t.Errorf("no data: CS [%v, %v], want [0, 1]", lo, hi)
	}
	// Huge counts: the interval is tiny, centred on the rate and ordered.
	lo, hi := BetaBinomialCS(1e11, 1e12, 1, 1, 0.001)
	if !(lo < 0.1 && 0.1 < hi && hi-lo < 1e-5 && hi-lo > 0) {
		t.Errorf("1e11 of 1e12: CS [%v, %v]", lo, hi)
	}
}

// TestBetaBinomialCSMonotone checks what QuantileCS relies on: with the
// trials fixed, both ends of the CS grow with the successes.
func TestBetaBinomialCSMonotone(t *testing.T) {
	for _, n := range []float64{10, 200, 5000} {
		plo, phi := -1.0, -1.0
		for s := 0.0; s <= n; s += math.Max(1, math.Floor(n/97)) {
			lo, hi := BetaBinomialCS(s, n, 1, 1, 0.0005)
			if lo < plo || hi < phi {
				t.Errorf("n %v, s %v: CS [%v, %v] below previous [%v, %v]", n, s, lo, hi, plo, phi)
			}
			plo, phi = lo, hi
		}
	}
}

// checkMissRate fails when the fraction of streams in which the CS ever
// missed is significantly above alpha: more than three binomial standard
// errors over it. An exact CS misses in slightly less than alpha of the
// streams over a long horizon, so "rate <= alpha" would fail by chance for
// some seeds; three standard errors keep the test sharp yet robust.
func checkMissRate(t *testing.T, name string, misses, runs int, alpha float64) {
	t.Helper()
	rate := float64(misses) / float64(runs)
	limit := alpha + 3*math.Sqrt(alpha*(1-alpha)/float64(runs))
	t.Logf("%s: missed in %.4f of %d streams (alpha %v)", name, rate, runs, alpha)
	if rate > limit {
		t.Errorf("%s: the CS missed in %v of %d streams, significantly above alpha %v", name, rate, runs, alpha)
	}
}

// TestBetaBinomialCSPeeking: the true rate leaves the CS at some time in at
// most alpha of the streams, checking after every observation.
func TestBetaBinomialCSPeeking(t *testing.T) {
	const alpha, horizon, runs = 0.05, 3000, 1000
	for _, p := range []float64{0.02, 0.1, 0.5} {
		rng := rand.New(rand.NewPCG(41, uint64(p*1000)))
		misses := 0
		for range runs {
			s := 0.0
			for n := 1.0; n <= horizon; n++ {
				if rng.Float64() < p {
					s++
				}
				if newBetaBinomial(s, n, 1, 1).rejects(p, alpha) {
					misses++
					break
				}
			}
		}
		checkMissRate(t, fmt.Sprintf("Beta-Binomial CS, p = %v", p), misses, runs, alpha)
	}
}

// TestDifferenceCSPeeking: the two-sample CS for mean_v - c mean_b and for
// p_v - c p_b keeps the true difference, with a 50/50 split.
func TestDifferenceCSPeeking(t *testing.T) {
	const alpha, horizon, runs, c = 0.05, 4000, 1000, 1.1
	pr := DefaultPriors()
	cases := []struct {
		name   string
		kind   Kind
		truth  float64
		dv, db func(*rand.Rand) Data
	}{
		{"means", Mean, 10 - c*9,
			func(r *rand.Rand) Data { return Data{Count: 1, Mu: 10 + 3*r.NormFloat64()} },
			func(r *rand.Rand) Data { return Data{Count: 1, Mu: 9 + 2*r.NormFloat64()} }},
		{"ratios", Ratio, 0.12 - c*0.1,
			func(r *rand.Rand) Data { return bernoulli(r, 0.12) },
			func(r *rand.Rand) Data { return bernoulli(r, 0.1) }},
	}
	for _, tc := range cases {
		rng := rand.New(rand.NewPCG(61, 62))
		misses := 0
		for range runs {
			var v, b Data
			for n := 1; n <= horizon; n++ {
				if err := v.Merge(tc.kind, tc.dv(rng)); err != nil {
					t.Fatal(err)
				}
				if err := b.Merge(tc.kind, tc.db(rng)); err != nil {
					t.Fatal(err)
				}
				if lo, hi := DifferenceCS(tc.kind, v, b, c, alpha, pr); tc.truth < lo || tc.truth > hi {
					misses++
					break
				}
			}
		}
		checkMissRate(t, "difference CS, "+tc.name, misses, runs, alpha)
	}
}

func bernoulli(r *rand.Rand, p float64) Data {
	if r.Float64() < p {
		return Data{Successes: 1, Trials: 1}
	}
	return Data{Trials: 1}
}

// TestQuantileCSPeeking: the true p90 of an exponential distribution stays
// in the histogram CS (lo, hi] at every check.
func TestQuantileCSPeeking(t *testing.T) {
	const alpha, horizon, runs, q, scale = 0.05, 4000, 500, 0.9, 100.0
	truth := -scale * math.Log(1-q) // about 230
	bounds := []float64{25, 50, 100, 150, 200, 250, 300, 400, 600}
	pr := DefaultPriors()
	rng := rand.New(rand.NewPCG(71, 72))
	misses := 0
	for range runs {
		d := Data{Bounds: bounds, Counts: make([]float64, len(bounds)+1)}
		for n := 1; n <= horizon; n++ {
			x := scale * rng.ExpFloat64()
			j := 0
			for j < len(bounds) && x > bounds[j] {
				j++
			}
			d.Counts[j]++
			if n%10 != 0 {
				continue
			}
			if lo, hi := QuantileCS(d, q, alpha, pr); !(lo < truth && truth <= hi) {
				misses++
				break
			}
		}
	}
	checkMissRate(t, "quantile CS", misses, runs, alpha)
	// With plenty of data the CS narrows to the buckets around the truth.
	d := Data{Bounds: bounds, Counts: make([]float64, len(bounds)+1)}
	for range 100000 {
		x := scale * rng.ExpFloat64()
		j := 0
		for j < len(bounds) && x > bounds[j] {
			j++
		}
		d.Counts[j]++
	}
	if lo, hi := QuantileCS(d, q, alpha, pr); lo != 200 || hi != 250 {
		t.Errorf("100000 observations: CS (%v, %v], want (200, 250]", lo, hi)
	}
}

// TestAsymptoticRadiusTuning: rho is chosen so that the CS is (nearly)
// tightest at tuneT observations.
func TestAsymptoticRadiusTuning(t *testing.T) {
	const alpha, tune = 0.01, 1000.0
	ours := asymptoticRadius(1, tune, alpha, tune)
	best := math.Inf(1)
	for rho2 := 1e-6; rho2 < 1; rho2 *= 1.01 {
		// The radius for an arbitrary rho, written out independently.
		r := math.Sqrt(2 * (tune*rho2 + 1) / (tune * tune * rho2) * math.Log(math.Sqrt(tune*rho2+1)/alpha))
		best = math.Min(best, r)
	}
	if ours > best*1.01 {
		t.Errorf("radius at the tuning point %v, best over rho %v", ours, best)
	}
	// And it shrinks with more data.
	if a, b := asymptoticRadius(1, 1e4, alpha, tune), asymptoticRadius(1, 1e5, alpha, tune); !(b < a && a < ours) {
		t.Errorf("radius not decreasing: %v, %v, %v", ours, a, b)
	}
}
