package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLogTiltBruteForce checks the hypergeometric log moment generating
// function against its definition with binomial coefficients from lgamma.
func TestLogTiltBruteForce(t *testing.T) {
	lchoose := func(n, k float64) float64 {
		a, _ := math.Lgamma(n + 1)
		b, _ := math.Lgamma(k + 1)
		c, _ := math.Lgamma(n - k + 1)
		return a - b - c
	}
	for _, tc := range []struct{ na, nb, s, l float64 }{
		{10, 12, 5, 0.3}, {250, 250, 55, 0.2}, {3, 400, 40, -1.5}, {100, 7, 100, 4}, {1, 1, 1, 0.01}, {50, 60, 0, 2},
	} {
		lw, lo := hypergeometricLogWeights(tc.na, tc.nb, tc.s)
		var num, den float64
		for x := math.Max(0, tc.s-tc.nb); x <= math.Min(tc.na, tc.s); x++ {
			w := math.Exp(lchoose(tc.na, x) + lchoose(tc.nb, tc.s-x) - lchoose(tc.na+tc.nb, tc.s))
			num += w * math.Exp(tc.l*x)
			den += w
		}
		if math.Abs(den-1) > 1e-9 {
			t.Fatalf("%+v: weights sum to %v", tc, den)
		}
		if got, want := newTilt(lw, lo).at(tc.l), math.Log(num); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%+v: ln M(ℓ) = %.12g, brute force %.12g", tc, got, want)
		}
	}
}

// TestHalfNormalMixtureQuadrature checks the closed form of the mean
// rule's mixture against numerical integration over η.
func TestHalfNormalMixtureQuadrature(t *testing.T) {
	for _, tc := range []struct{ g, h float64 }{{0, 1}, {3, 10}, {-5, 40}, {40, 300}, {-200, 50}} {
		want := 0.0
		for _, tau := range effectScales {
			const steps = 200000
			hi := 40 * tau
			sum := 0.0
			for i := range steps {
				eta := (float64(i) + 0.5) / steps * hi
				sum += math.Exp(eta*tc.g-eta*eta*tc.h/2) * 2 * math.Exp(-eta*eta/(2*tau*tau)) / (tau * math.Sqrt(2*math.Pi))
			}
			want += sum * hi / steps / float64(len(effectScales))
		}
		got := halfNormalMixture(tc.g, tc.h, effectScales)
		if want == 0 {
			if got > -300 {
				t.Errorf("%+v: ln E = %v, quadrature underflows", tc, got)
			}
			continue
		}
		if math.Abs(got-math.Log(want)) > 1e-4 {
			t.Errorf("%+v: ln E = %.6f, quadrature %.6f", tc, got, math.Log(want))
		}
	}
}

// TestLiftPrior checks that the lift prior is a probability distribution.
func TestLiftPrior(t *testing.T) {
	total := 0.0
	for _, w := range liftLogWeights {
		total += math.Exp(w)
	}
	if math.Abs(total-1) > 1e-12 {
		t.Errorf("lift prior sums to %v", total)
	}
}

// aaStream folds an A/A stream of K versions with rate p under an
// allocation that chases the evidence: each window's sizes (random, from 1
// to maxWindow requests) favour whichever version currently leads on
// evidence, the most adversarial predictable allocation we know. It
// reports whether any ordered pair ever reached the level.
func aaStream(rng *rand.Rand, m Metric, k int, level float64, windows, maxWindow int, draw func(*rand.Rand) float64) bool {
	ev := Evidence{}
	before := make([]Data, k)
	for range windows {
		lead, leadE := 0, math.Inf(-1)
		for a := range k {
			for b := range k {
				if a == b {
					continue
				}
				if e, ok := ev.logE(m.Kind, a, b); ok && e > leadE {
					lead, leadE = a, e
				}
			}
		}
		n := 1 + rng.IntN(maxWindow)
		window := make([]Data, k)
		for range n {
			v := rng.IntN(k)
			if rng.Float64() < 0.6 {
				v = lead
			}
			x := draw(rng)
			if m.Kind == Ratio {
				window[v].Trials++
				window[v].Successes += x
			} else {
				_ = window[v].Merge(Mean, Data{Count: 1, Mu: x})
			}
		}
		ev = ev.Fold(m, true, before, window)
		for v := range k {
			_ = before[v].Merge(m.Kind, window[v])
		}
		for a := range k {
			for b := range k {
				if e, ok := ev.logE(m.Kind, a, b); a != b && ok && e >= level {
					return true
				}
			}
		}
	}
	return false
}

// TestEvidenceAAUnderAdaptiveAllocation is the property behind the
// reward rule: in an A/A test, with windows of any size and an allocation
// chasing the evidence, "some winner" stays within δ. The level is that
// of δ = 0.1 so that a miscalibrated rule fails with few streams: 400
// streams have a 3-sigma bound of 0.145.
func TestEvidenceAAUnderAdaptiveAllocation(t *testing.T) {
	const delta, streams = 0.1, 400
	for _, tc := range []struct {
		name string
		m    Metric
		k    int
		draw func(*rand.Rand) float64
	}{
		{"ratio 2 versions", Metric{Kind: Ratio}, 2, func(r *rand.Rand) float64 { return b2f(r.Float64() < 0.1) }},
		{"ratio 3 versions", Metric{Kind: Ratio}, 3, func(r *rand.Rand) float64 { return b2f(r.Float64() < 0.3) }},
		{"mean 2 versions", Metric{Kind: Mean}, 2, func(r *rand.Rand) float64 { return 5 + r.NormFloat64() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 5))
			level := BestEvidence(tc.k, delta)
			hits := 0
			for range streams {
				if aaStream(rng, tc.m, tc.k, level, 40, 250, tc.draw) {
					hits++
				}
			}
			rate := float64(hits) / streams
			t.Logf("A/A some-winner rate %.3f (δ = %v)", rate, delta)
			if bound := delta + 3*math.Sqrt(delta*(1-delta)/streams); rate > bound {
				t.Errorf("A/A some-winner rate %.3f over %d streams, above %.3f (δ = %v)", rate, streams, bound, delta)
			}
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestEvidenceFindsBetterVersion: on 10% vs 12% the better version is
// shown best, and the state survives a JSON round trip unchanged, so any
// process can carry it on.
func TestEvidenceFindsBetterVersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	m := Metric{Kind: Ratio}
	ev := Evidence{}
	before := make([]Data, 2)
	best := -1
	for w := 0; w < 200 && best < 0; w++ {
		window := []Data{{Trials: 250}, {Trials: 250}}
		for range 250 {
			window[0].Successes += b2f(rng.Float64() < 0.10)
			window[1].Successes += b2f(rng.Float64() < 0.12)
		}
		ev = ev.Fold(m, true, before, window)
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var back Evidence
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ev, back); diff != "" {
			t.Fatalf("JSON round trip (-want +got):\n%s", diff)
		}
		ev = back
		for v := range 2 {
			_ = before[v].Merge(Ratio, window[v])
		}
		best = BestArm(m, true, before, nil, 0.05, DefaultPriors(), &ev)
	}
	if best != 1 {
		t.Fatalf("best = %d, want 1", best)
	}
	// Minimising the same rate reverses the pairs.
	if e, _ := ev.logE(Ratio, 1, 0); !(e >= BestEvidence(2, 0.05)) {
		t.Errorf("ln E(1 > 0) = %v", e)
	}
}

// TestEvidenceMinimizeMirrors: folding with maximize=false gives each
// ordered pair the evidence its reverse gets with maximize=true.
func TestEvidenceMinimizeMirrors(t *testing.T) {
	before := []Data{{Successes: 30, Trials: 300}, {Successes: 40, Trials: 300}}
	window := []Data{{Successes: 9, Trials: 100}, {Successes: 20, Trials: 120}}
	mx := Evidence{}.Fold(Metric{Kind: Ratio}, true, before, window)
	mn := Evidence{}.Fold(Metric{Kind: Ratio}, false, before, window)
	if diff := cmp.Diff(mx.Ratio[0], mn.Ratio[1]); diff != "" {
		t.Errorf("minimise (0,1) vs maximise (1,0):\n%s", diff)
	}
}

// TestBaselineUnjudged: a canary's baseline takes no verdicts and no share
// of the budget, so the candidate's alpha doubles.
func TestBaselineUnjudged(t *testing.T) {
	p := Problem{
		Metrics:    []Metric{{Name: "errors", Kind: Ratio}},
		Objectives: []Objective{{Metric: 0, Upper: true, Limit: 0.01}},
		Confidence: 0.95,
	}
	data := [][]Data{{{Successes: 90, Trials: 1000}}, {{Successes: 0, Trials: 1000}}}
	both, err := Decide(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.BaselineUnjudged = true
	cand, err := Decide(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cand.Alpha != 2*both.Alpha {
		t.Errorf("alpha %v, want twice %v", cand.Alpha, both.Alpha)
	}
	if both.Verdicts[0][0] != Violated || cand.Verdicts[0][0] != Undecided || cand.Verdicts[1][0] != Satisfied {
		t.Errorf("verdicts judged %v, unjudged %v", both.Verdicts, cand.Verdicts)
	}
}

// TestMeanEvidenceScaleFree: the same latencies in seconds and in
// milliseconds give the same evidence, so the same decisions.
func TestMeanEvidenceScaleFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	m := Metric{Kind: Mean}
	var s, ms Evidence
	bs, bms := make([]Data, 2), make([]Data, 2)
	for range 20 {
		ws, wms := make([]Data, 2), make([]Data, 2)
		for v := range 2 {
			for range 200 {
				x := 0.1 + 0.03*rng.NormFloat64() - 0.002*float64(v)
				_ = ws[v].Merge(Mean, Data{Count: 1, Mu: x})
				_ = wms[v].Merge(Mean, Data{Count: 1, Mu: 1000 * x})
			}
		}
		s, ms = s.Fold(m, false, bs, ws), ms.Fold(m, false, bms, wms)
		for v := range 2 {
			_ = bs[v].Merge(Mean, ws[v])
			_ = bms[v].Merge(Mean, wms[v])
		}
	}
	es, _ := s.logE(Mean, 1, 0)
	ems, _ := ms.logE(Mean, 1, 0)
	if !(es > 0) || math.Abs(es-ems) > 1e-9*math.Abs(es) {
		t.Errorf("ln E in seconds %v, in milliseconds %v", es, ems)
	}
}

// logTiltBefore is ln M(ℓ) as foldRatio computed it before tilt hoisted the
// normaliser: TestTiltIsBitIdentical holds tilt to it, so that stored
// evidence, and every decision read from it, is unchanged.
func logTiltBefore(lw []float64, lo, l float64) float64 {
	mx0, mx := math.Inf(-1), math.Inf(-1)
	for i, w := range lw {
		mx0 = math.Max(mx0, w)
		mx = math.Max(mx, w+l*(lo+float64(i)))
	}
	s0, s := 0.0, 0.0
	for i, w := range lw {
		s0 += math.Exp(w - mx0)
		s += math.Exp(w + l*(lo+float64(i)) - mx)
	}
	return mx + math.Log(s) - mx0 - math.Log(s0)
}

func TestTiltIsBitIdentical(t *testing.T) {
	for _, na := range []float64{1, 7, 60, 600, 5000} {
		for _, nb := range []float64{1, 9, 55, 610, 4999} {
			for _, s := range []float64{0, 1, 3, 40, 130, 700, na + nb} {
				if s > na+nb {
					continue
				}
				lw, lo := hypergeometricLogWeights(na, nb, s)
				tl := newTilt(lw, lo)
				for _, l := range liftGrid {
					for _, l := range []float64{l, -l} {
						if got, want := tl.at(l), logTiltBefore(lw, lo, l); math.Float64bits(got) != math.Float64bits(want) {
							t.Fatalf("na=%v nb=%v s=%v ℓ=%v: tilt %v, before %v", na, nb, s, l, got, want)
						}
					}
				}
			}
		}
	}
}

// XLogY's edge cases: a zero count adds nothing whatever the rate, even a
// rate of zero; a positive count at a rate of zero is impossible (−∞).
func TestXLogY(t *testing.T) {
	for _, c := range []struct{ x, y, want float64 }{
		{0, 0, 0}, {0, 0.3, 0}, {0, 1, 0}, {2, math.E, 2}, {3, 1, 0}, {1, 0, math.Inf(-1)},
	} {
		if got := XLogY(c.x, c.y); got != c.want {
			t.Errorf("XLogY(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
