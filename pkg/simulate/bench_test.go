package simulate

import (
	"testing"
)

// BenchmarkRunIter8ABConversion is one iter8 run of ab-conversion to its
// decision (about 130 engine assessments).
func BenchmarkRunIter8ABConversion(b *testing.B) {
	s, err := LoadScenario(scenarioDir + "/ab-conversion.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := RunAll(s, Options{Runs: 1, Seed: uint64(i), Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIntervalABNThree draws one abn-three interval: 1000 requests
// split three ways, two Bernoulli metrics (fast path) and a lognormal mean
// (per request).
func BenchmarkIntervalABNThree(b *testing.B) {
	s, err := LoadScenario(scenarioDir + "/abn-three.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sm := newSampler(s, s.Experiment.Defaulted(), 1)
	split := []int{34, 33, 33}
	b.ResetTimer()
	for range b.N {
		sm.window(sm.split(1000, split), DefaultStart, DefaultStart.Add(Interval))
	}
}
