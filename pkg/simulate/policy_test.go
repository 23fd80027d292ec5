package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
)

func TestCapIncrease(t *testing.T) {
	tests := []struct {
		name string
		w    []float64
		cur  []int
		want []int
	}{
		{"gain capped at 5", []float64{0, 1}, []int{50, 50}, []int{45, 55}},
		{"loss uncapped only by the other's cap", []float64{1, 0}, []int{50, 50}, []int{55, 45}},
		{"equal stays equal", []float64{1, 1, 1}, []int{34, 33, 33}, []int{34, 33, 33}},
		// Targets 2.5/2.5/95: v3 and v2 may gain 5 each, v1 keeps the rest.
		{"two capped", []float64{0, 0, 1}, []int{90, 5, 5}, []int{80, 10, 10}},
		{"exploration floor", []float64{0, 1}, []int{5, 95}, []int{3, 97}},
		{"no information is uniform", []float64{0, 0}, []int{40, 60}, []int{45, 55}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := capIncrease(tt.w, tt.cur)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("capIncrease(%v, %v) (-want +got):\n%s", tt.w, tt.cur, diff)
			}
		})
	}
}

func TestHistogramQuantile(t *testing.T) {
	bounds := []float64{10, 20, 30}
	tests := []struct {
		q      float64
		counts []float64
		want   float64
		ok     bool
	}{
		{0.5, []float64{10, 10, 10, 0}, 15, true},
		{0.95, []float64{10, 10, 10, 0}, 28.5, true},
		{0.1, []float64{10, 10, 10, 0}, 3, true},      // the first bucket starts at 0
		{0.5, []float64{0, 0, 0, 10}, 30, true},       // overflow: the last bound
		{0.5, []float64{0, 4, 0, 4}, 20, true},        // rank at a bucket's top
		{0.5, []float64{0, 0, 0, 0}, 0, false},        // no data
		{0.99, []float64{0, 0, 100, 0}, 29.9, true},   // interpolated in (20, 30]
		{0.25, []float64{0, 100, 0, 100}, 15.0, true}, // inside (10, 20]
	}
	for _, tt := range tests {
		got, ok := histogramQuantile(tt.q, bounds, tt.counts)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("histogramQuantile(%v, %v) = %v, %v; want %v, %v", tt.q, tt.counts, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMassAbove(t *testing.T) {
	bounds, counts := []float64{10, 20}, []float64{5, 10, 5}
	tests := []struct{ x, above float64 }{
		{15, 5 + 5},       // half of (10, 20] and the overflow
		{5, 2.5 + 10 + 5}, // half of (0, 10]
		{20, 5},           // only the overflow
		{25, 5},           // the overflow may lie beyond anything
	}
	for _, tt := range tests {
		above, total := massAbove(bounds, counts, tt.x)
		if above != tt.above || total != 20 {
			t.Errorf("massAbove(%v) = %v of %v, want %v of 20", tt.x, above, total, tt.above)
		}
	}
}

func TestWilson(t *testing.T) {
	lo, hi := wilson(0, 100, 1.959963984540054)
	if math.Abs(lo) > 1e-12 || math.Abs(hi-0.0369935) > 1e-6 {
		t.Errorf("wilson(0, 100) = [%v, %v], want [0, 0.0369935]", lo, hi)
	}
	lo, hi = wilson(50, 100, 1.959963984540054)
	if math.Abs(lo-0.40383) > 1e-5 || math.Abs(hi-0.59617) > 1e-5 {
		t.Errorf("wilson(50, 100) = [%v, %v], want [0.40383, 0.59617]", lo, hi)
	}
}

func TestFixedHorizonSampleSizes(t *testing.T) {
	ab := loadTestScenario(t, "ab-conversion")
	n, err := rewardSampleSize(testEnv(ab))
	if err != nil {
		t.Fatal(err)
	}
	// The textbook size for 10% vs 12%, alpha 0.05 two-sided, power 80%.
	if math.Abs(n-3841) > 1 {
		t.Errorf("ab-conversion n = %v, want 3841", n)
	}
	canary := loadTestScenario(t, "canary-good")
	n, err = objectiveSampleSize(testEnv(canary), 1)
	if err != nil {
		t.Fatal(err)
	}
	// Errors <= 1% shown at 0.8%: ((1.6449·√(.01·.99) + 0.8416·√(.008·.992)) / .002)².
	want := math.Pow((1.6448536*math.Sqrt(0.0099)+0.8416212*math.Sqrt(0.008*0.992))/0.002, 2)
	if math.Abs(n-want) > 1 {
		t.Errorf("canary-good n = %v, want %v", n, want)
	}
}

func testEnv(s Scenario) runEnv {
	return runEnv{scenario: s, spec: s.Experiment.Defaulted(), truth: TruthOf(s), id: "test", seed: 1, t0: DefaultStart}
}

// window builds one interval's observation from successes/trials of each
// ratio metric and (count, mean) of each mean metric with zero variance.
func window(k int, v map[string]map[string][2]float64, spec events.ExperimentSpec) (events.MetricsObserved, time.Time) {
	start := DefaultStart.Add(time.Duration(k) * Interval)
	obs := events.NewMetricsObserved(start, start.Add(Interval))
	for version, metrics := range v {
		for name, x := range metrics {
			m := spec.Metrics[metricIndex(spec, name)]
			if m.Type == events.MetricRatio {
				obs.Set(version, name, events.Ratio(int64(x[0]), int64(x[1])))
			} else {
				obs.Set(version, name, events.Mean(int64(x[0]), x[0]*x[1], x[0]*x[1]*x[1]))
			}
		}
	}
	return obs, start.Add(Interval)
}

type step struct {
	data    map[string]map[string][2]float64
	split   []int
	outcome string
	done    bool
}

func runSteps(t *testing.T, p policy, spec events.ExperimentSpec, start []int, steps []step) {
	t.Helper()
	got, err := p.start()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(start, got); diff != "" {
		t.Fatalf("start (-want +got):\n%s", diff)
	}
	for k, s := range steps {
		obs, now := window(k, s.data, spec)
		split, outcome, done, err := p.observe(obs, now)
		if err != nil {
			t.Fatalf("step %d: %v", k+1, err)
		}
		if diff := cmp.Diff(s, step{data: s.data, split: split, outcome: outcome, done: done}, cmp.AllowUnexported(step{})); diff != "" {
			t.Fatalf("step %d (-want +got):\n%s", k+1, diff)
		}
	}
}

func TestFlaggerCanary(t *testing.T) {
	s := loadTestScenario(t, "canary-good")
	spec := s.Experiment.Defaulted()
	good := map[string]map[string][2]float64{"v2": {"errors": {0, 50}, "latency": {50, 60}}}
	bad := map[string]map[string][2]float64{"v2": {"errors": {2, 50}, "latency": {50, 60}}} // 4% > 1%
	slow := map[string]map[string][2]float64{"v2": {"errors": {0, 50}, "latency": {50, 120}}}
	none := map[string]map[string][2]float64{"v1": {"errors": {0, 50}, "latency": {50, 60}}}
	t.Run("promotes after passing checks up to maxWeight", func(t *testing.T) {
		runSteps(t, newFlagger(testEnv(s)), spec, []int{90, 10}, []step{
			{data: good, split: []int{80, 20}},
			{data: good, split: []int{70, 30}},
			{data: bad, split: []int{70, 30}}, // a failed check holds the weight
			{data: good, split: []int{60, 40}},
			{data: good, split: []int{50, 50}},
			{data: good, split: []int{0, 100}, outcome: "v2", done: true},
		})
	})
	t.Run("rolls back at threshold failed checks", func(t *testing.T) {
		runSteps(t, newFlagger(testEnv(s)), spec, []int{90, 10}, []step{
			{data: bad, split: []int{90, 10}},
			{data: slow, split: []int{90, 10}},
			{data: good, split: []int{80, 20}}, // passing does not reset the counter
			{data: none, split: []int{80, 20}}, // no data fails
			{data: bad, split: []int{80, 20}},
			{data: bad, split: []int{100, 0}, outcome: OutcomeRollback, done: true},
		})
	})
}

func TestFlaggerAB(t *testing.T) {
	s := loadTestScenario(t, "ab-conversion")
	spec := s.Experiment.Defaulted()
	d := map[string]map[string][2]float64{"v1": {"conversion": {25, 250}}, "v2": {"conversion": {30, 250}}}
	var steps []step
	for range flaggerIterations - 1 {
		steps = append(steps, step{data: d, split: []int{50, 50}})
	}
	steps = append(steps, step{data: d, split: []int{0, 100}, outcome: "v2", done: true})
	runSteps(t, newFlagger(testEnv(s)), spec, []int{50, 50}, steps)
}

func TestBayesStopsOnProbabilityOfBest(t *testing.T) {
	s := loadTestScenario(t, "ab-conversion")
	spec := s.Experiment.Defaulted()
	near := map[string]map[string][2]float64{"v1": {"conversion": {100, 1000}}, "v2": {"conversion": {105, 1000}}}
	far := map[string]map[string][2]float64{"v1": {"conversion": {100, 1000}}, "v2": {"conversion": {200, 1000}}}
	t.Run(PolicyNaiveBayes, func(t *testing.T) {
		runSteps(t, newBayes(testEnv(s), false), spec, []int{50, 50}, []step{
			{data: near, split: []int{50, 50}},
			{data: far, split: []int{0, 100}, outcome: "v2", done: true},
		})
	})
	t.Run(PolicyIter8V1, func(t *testing.T) {
		p := newBayes(testEnv(s), true)
		if _, err := p.start(); err != nil {
			t.Fatal(err)
		}
		obs, now := window(0, near, spec)
		split, _, done, err := p.observe(obs, now)
		if err != nil || done {
			t.Fatalf("observe = %v, done %v, %v", split, done, err)
		}
		// v2 leads at P(best) ≈ 0.64: it gains, by at most 5 points.
		if split[1] <= 50 || split[1] > 55 || split[0]+split[1] != 100 {
			t.Errorf("split after a close window = %v, want v2 in (50, 55]", split)
		}
	})
}

func TestFixedHorizonDecidesOnceAtN(t *testing.T) {
	s := loadTestScenario(t, "ab-conversion")
	spec := s.Experiment.Defaulted()
	half := map[string]map[string][2]float64{"v1": {"conversion": {200, 2000}}, "v2": {"conversion": {250, 2000}}}
	same := map[string]map[string][2]float64{"v1": {"conversion": {200, 2000}}, "v2": {"conversion": {200, 2000}}}
	t.Run("significant", func(t *testing.T) {
		p, err := newFixedHorizon(testEnv(s))
		if err != nil {
			t.Fatal(err)
		}
		// 2000 per arm is below n = 3841: no look; 4000 is above.
		runSteps(t, p, spec, []int{50, 50}, []step{
			{data: half, split: []int{50, 50}},
			{data: half, split: []int{0, 100}, outcome: "v2", done: true},
		})
	})
	t.Run("not significant", func(t *testing.T) {
		p, err := newFixedHorizon(testEnv(s))
		if err != nil {
			t.Fatal(err)
		}
		runSteps(t, p, spec, []int{50, 50}, []step{
			{data: same, split: []int{50, 50}},
			{data: same, split: []int{100, 0}, outcome: OutcomeInconclusive, done: true},
		})
	})
}
