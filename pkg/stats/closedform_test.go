package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"
)

func TestKLBernoulli(t *testing.T) {
	// The definition, summed over the two outcomes with gonum's Bernoulli.
	byDefinition := func(p, q float64) float64 {
		s := 0.0
		for _, x := range []float64{0, 1} {
			pp := distuv.Bernoulli{P: p}.Prob(x)
			if pp > 0 {
				s += pp * math.Log(pp/distuv.Bernoulli{P: q}.Prob(x))
			}
		}
		return s
	}
	for _, c := range [][2]float64{{0.1, 0.12}, {0.5, 0.5}, {0.01, 0.9}, {0, 0.3}, {1, 0.3}, {0.999, 0.001}} {
		got, want := KLBernoulli(c[0], c[1]), byDefinition(c[0], c[1])
		if math.Abs(got-want) > 1e-12*math.Max(1, want) {
			t.Errorf("KLBernoulli(%v, %v) = %v, want %v", c[0], c[1], got, want)
		}
	}
	special := []struct {
		p, q, want float64
	}{
		{0.5, 0, math.Inf(1)},
		{0.5, 1, math.Inf(1)},
		{0, 0, 0},
		{1, 1, 0},
		{-0.1, 0.5, math.NaN()},
		{0.5, 1.5, math.NaN()},
	}
	for _, c := range special {
		if diff := cmp.Diff(c.want, KLBernoulli(c.p, c.q), cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("KLBernoulli(%v, %v) (-want +got):\n%s", c.p, c.q, diff)
		}
	}
}

// betaGreaterByQuadrature integrates f_Y(y) P(X > y) over [0, 1] with many
// nodes, independently of ProbBetaGreater's own choices.
func betaGreaterByQuadrature(a1, b1, a2, b2 float64) float64 {
	x := distuv.Beta{Alpha: a1, Beta: b1}
	y := distuv.Beta{Alpha: a2, Beta: b2}
	f := func(v float64) float64 { return y.Prob(v) * x.Survival(v) }
	const pieces = 200
	s := 0.0
	for i := range pieces {
		s += quad.Fixed(f, float64(i)/pieces, float64(i+1)/pieces, 20, nil, 0)
	}
	return s
}

// betaGreaterByMonteCarlo draws the two Betas from Gamma variates.
func betaGreaterByMonteCarlo(a1, b1, a2, b2 float64, n int, seed uint64) float64 {
	src := rand.NewPCG(seed, 7)
	g := func(a float64) float64 { return distuv.Gamma{Alpha: a, Beta: 1, Src: src}.Rand() }
	wins := 0
	for range n {
		ga, gb, gc, gd := g(a1), g(b1), g(a2), g(b2)
		if ga/(ga+gb) > gc/(gc+gd) {
			wins++
		}
	}
	return float64(wins) / float64(n)
}

func TestProbBetaGreater(t *testing.T) {
	cases := []struct {
		name           string
		a1, b1, a2, b2 float64
	}{
		{"uniforms", 1, 1, 1, 1},
		{"small counts", 3, 8, 5, 4},
		{"conversion", 101, 901, 121, 881},
		{"a1 whole only", 7, 3.5, 2.25, 4.75},
		{"b2 whole only", 2.5, 3.5, 1.25, 6},
		{"no whole parameter", 2.5, 7.5, 3.25, 5.5},
		{"skewed", 0.5, 30.5, 1.5, 20.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ProbBetaGreater(c.a1, c.b1, c.a2, c.b2)
			if want := betaGreaterByQuadrature(c.a1, c.b1, c.a2, c.b2); math.Abs(got-want) > 2e-5 {
				t.Errorf("ProbBetaGreater = %.8f, quadrature %.8f", got, want)
			}
			const n = 40000
			mc := betaGreaterByMonteCarlo(c.a1, c.b1, c.a2, c.b2, n, 3)
			if se := math.Sqrt(got * (1 - got) / n); math.Abs(got-mc) > 4*se+1e-9 {
				t.Errorf("ProbBetaGreater = %.5f, Monte Carlo %.5f (4 se = %.5f)", got, mc, 4*se)
			}
			if sum := got + ProbBetaGreater(c.a2, c.b2, c.a1, c.b1); math.Abs(sum-1) > 1e-6 {
				t.Errorf("P(X>Y) + P(Y>X) = %v, want 1", sum)
			}
		})
	}
	// Posteriors far apart and very narrow: the quadrature fallback must
	// still place its nodes where the mass is.
	if got := ProbBetaGreater(1e6+0.5, 9e6, 1.1e6+0.5, 8.9e6); got > 1e-9 {
		t.Errorf("narrow, separated posteriors: P = %v, want about 0", got)
	}
	if got := ProbBetaGreater(1.1e6+0.5, 8.9e6, 1e6+0.5, 9e6); got < 1-1e-9 {
		t.Errorf("narrow, separated posteriors: P = %v, want about 1", got)
	}
	if got := ProbBetaGreater(0, 1, 1, 1); !math.IsNaN(got) {
		t.Errorf("invalid parameter: P = %v, want NaN", got)
	}
}

func TestGarivierKaufmannBound(t *testing.T) {
	// The brief's reference value for two Bernoulli arms.
	got := GarivierKaufmannBound([]float64{0.10, 0.12}, 0.05)
	if math.Abs(got-5181)/5181 > 0.01 {
		t.Errorf("GK bound for {0.10, 0.12}, delta 0.05 = %v, want about 5181", got)
	}
	// Independently: maximise min over rivals of the weighted divergences
	// on a grid of the simplex.
	bruteInverseT := func(mu []float64) float64 {
		best := 0.0
		const steps = 400
		k := len(mu)
		w := make([]float64, k)
		var rec func(i int, left int)
		rec = func(i, left int) {
			if i == k-1 {
				w[i] = float64(left) / steps
				worst := math.Inf(1)
				for a := 1; a < k; a++ {
					if w[0]+w[a] == 0 {
						worst = 0
						continue
					}
					m := (w[0]*mu[0] + w[a]*mu[a]) / (w[0] + w[a])
					worst = math.Min(worst, w[0]*KLBernoulli(mu[0], m)+w[a]*KLBernoulli(mu[a], m))
				}
				best = math.Max(best, worst)
				return
			}
			for j := 0; j <= left; j++ {
				w[i] = float64(j) / steps
				rec(i+1, left-j)
			}
		}
		rec(0, steps)
		return best
	}
	for _, mu := range [][]float64{{0.10, 0.12}, {0.5, 0.3}, {0.3, 0.2, 0.1}, {0.6, 0.5, 0.5}} {
		want := KLBernoulli(0.05, 0.95) / bruteInverseT(mu)
		got := GarivierKaufmannBound(mu, 0.05)
		// The grid maximum is slightly below the true one.
		if got > want*(1+1e-9) || got < want*(1-0.01) {
			t.Errorf("GK bound %v = %v, grid search %v", mu, got, want)
		}
	}
	// The best arm need not come first.
	if a, b := GarivierKaufmannBound([]float64{0.12, 0.10}, 0.05), GarivierKaufmannBound([]float64{0.10, 0.12}, 0.05); math.Abs(a-b) > 1e-6*b {
		t.Errorf("GK bound depends on order: %v vs %v", a, b)
	}
	if got := GarivierKaufmannBound([]float64{0.1, 0.1}, 0.05); !math.IsInf(got, 1) {
		t.Errorf("tied best arms: %v, want +Inf", got)
	}
	if got := GarivierKaufmannBound([]float64{0.1}, 0.05); !math.IsNaN(got) {
		t.Errorf("one arm: %v, want NaN", got)
	}
}

func TestLaiRobbinsConstant(t *testing.T) {
	cases := []struct {
		mu   []float64
		want float64
	}{
		{[]float64{0.10, 0.12}, 0.02 / KLBernoulli(0.10, 0.12)},
		{[]float64{0.12, 0.10, 0.12}, 0.02 / KLBernoulli(0.10, 0.12)},
		{[]float64{0.5, 0.3, 0.1}, 0.2/KLBernoulli(0.3, 0.5) + 0.4/KLBernoulli(0.1, 0.5)},
		{[]float64{0.2, 0.2}, 0},
		{[]float64{1, 0.5}, 0}, // kl(0.5, 1) is infinite: no regret needed
		{[]float64{0.5, 2}, math.NaN()},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, LaiRobbinsConstant(c.mu), cmpopts.EquateNaNs(), cmpopts.EquateApprox(1e-12, 0)); diff != "" {
			t.Errorf("LaiRobbinsConstant(%v) (-want +got):\n%s", c.mu, diff)
		}
	}
}
