package stats

import (
	"math/rand/v2"
	"testing"
)

// benchProblem is 10 versions x 5 metrics of all kinds: a ratio reward, a
// ratio and a mean with absolute limits, a mean with a relative limit and a
// p95 latency histogram with an absolute limit.
func benchProblem() (Problem, [][]Data) {
	p := Problem{
		Metrics: []Metric{
			{Name: "conversion", Kind: Ratio},
			{Name: "error-rate", Kind: Ratio},
			{Name: "revenue", Kind: Mean},
			{Name: "cpu", Kind: Mean},
			{Name: "latency-p95", Kind: Quantile, Q: 0.95},
		},
		Objectives: []Objective{
			{Metric: 1, Upper: true, Limit: 0.02},
			{Metric: 2, Upper: false, Limit: 9},
			{Metric: 3, Upper: true, Limit: 1.1, Relative: true},
			{Metric: 4, Upper: true, Limit: 250},
		},
		Reward:     &Reward{Metric: 0, Maximize: true},
		Confidence: 0.95,
		Seed:       42,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	bounds := []float64{25, 50, 75, 100, 150, 200, 300, 400, 600, 1000}
	data := make([][]Data, 10)
	for v := range data {
		n := 5000 + float64(rng.IntN(5000))
		counts := make([]float64, len(bounds)+1)
		for range int(n) {
			x := 60 + 40*rng.ExpFloat64()
			j := 0
			for j < len(bounds) && x > bounds[j] {
				j++
			}
			counts[j]++
		}
		data[v] = []Data{
			{Successes: float64(int(n * (0.10 + 0.002*float64(v)))), Trials: n},
			{Successes: float64(int(n * 0.01)), Trials: n},
			{Count: n, Mu: 10 + 0.1*rng.NormFloat64(), M2: n * 4},
			{Count: n, Mu: 1, M2: n * 0.04},
			{Bounds: bounds, Counts: counts},
		}
	}
	return p, data
}

func BenchmarkAssess10x5(b *testing.B) {
	p, data := benchProblem()
	for b.Loop() {
		if _, err := Assess(p, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecide10x5(b *testing.B) {
	p, data := benchProblem()
	for b.Loop() {
		if _, err := Decide(p, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBestArmRatio(b *testing.B) {
	m := Metric{Kind: Ratio}
	arms := []Data{{Successes: 1000, Trials: 10000}, {Successes: 1100, Trials: 10000}}
	pr := DefaultPriors()
	for b.Loop() {
		BestArm(m, true, arms, nil, 0.05, pr, nil)
	}
}

func BenchmarkBetaBinomialCS(b *testing.B) {
	for b.Loop() {
		BetaBinomialCS(1000, 10000, 1, 1, 0.001)
	}
}

func BenchmarkQuantileCS(b *testing.B) {
	p, data := benchProblem()
	pr := DefaultPriors()
	for b.Loop() {
		QuantileCS(data[0][4], p.Metrics[4].Q, 0.001, pr)
	}
}
