package simulate

import (
	"math"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

// A continued run picks the engine up where the state left it: its
// windows follow the state's, it counts the state's samples against the
// limits, and a state that is not Running cannot be continued.
func TestContinueFromState(t *testing.T) {
	s := loadTestScenario(t, "canary-bad-errors")
	var trace []experiment.State
	if _, err := RunAll(s, Options{Runs: 1, Seed: 4, Workers: 1, OnState: func(_ int, st experiment.State) { trace = append(trace, st) }}); err != nil {
		t.Fatal(err)
	}
	if len(trace) < 2 {
		t.Fatalf("run took %d windows; want at least 2", len(trace))
	}
	from := trace[0]
	var next []int
	res, err := RunAll(s, Options{Runs: 1, Seed: 5, Workers: 1, From: &from, OnState: func(_ int, st experiment.State) { next = append(next, st.Iteration) }})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int, res[0].Intervals)
	for i := range want {
		want[i] = from.Iteration + 1 + i
	}
	if diff := cmp.Diff(want, next); diff != "" {
		t.Errorf("iterations of the continued run (-want +got):\n%s", diff)
	}
	if from.Iteration != 1 {
		t.Errorf("the caller's state was changed: iteration %d", from.Iteration)
	}
	done := trace[len(trace)-1]
	if _, err := RunAll(s, Options{Runs: 1, From: &done}); err == nil {
		t.Errorf("continuing a %s experiment: no error", done.Phase)
	}
	if _, err := RunAll(s, Options{Runs: 1, From: &from, Policy: PolicyFlagger}); err == nil {
		t.Error("continuing with the Flagger policy: no error")
	}
}

// Above BulkHistogram requests a window, a histogram is one multinomial
// draw: its bucket shares must match the distribution's.
func TestMultinomialHistogram(t *testing.T) {
	mu, sigma := 4.0, 0.5
	d := Dist{LogNormal: &LogNormal{Mu: &mu, Sigma: &sigma}}
	m := events.MetricSpec{Name: "latency", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms"}
	s := Scenario{Truth: map[string]map[string]Dist{"v1": {"latency": d}}}
	s.Experiment = events.ExperimentSpec{Kind: events.KindPerformance, Baseline: "v1", Metrics: []events.MetricSpec{m}}
	sm := newSampler(s, s.Experiment.Defaulted(), 9)
	bounds := Buckets(m)
	const n = 200_000
	o := sm.observe(d, m, 0, n)
	total := int64(0)
	for _, c := range o.Counts {
		total += c
	}
	if total != n || !sort.Float64sAreSorted(bounds) {
		t.Fatalf("%d requests in the histogram, want %d", total, n)
	}
	below := 0.0
	for k, c := range o.Counts {
		cdf := 1.0
		if k < len(bounds) {
			cdf = d.CDF(bounds[k])
		}
		p := cdf - below
		below = cdf
		if se := math.Sqrt(n * p * (1 - p)); math.Abs(float64(c)-n*p) > 5*se+1 {
			t.Errorf("bucket %d: %d requests, want %.0f ± %.0f", k, c, n*p, 5*se)
		}
	}
}
