package experiment

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

func TestFold(t *testing.T) {
	spec := perfSpec()
	spec.Metrics = append(spec.Metrics, events.MetricSpec{Name: "latency", Type: events.MetricMean})
	st := mustStart(t, spec)
	e := New(WithAssessor(fixed(scripted(spec, -1, -1, av{feasible: 0.5}))))
	windows := []map[string]events.Observation{
		{
			"errors":      {Successes: ref[int64](1), Trials: ref[int64](10)},
			"latency-p95": {Bounds: []float64{10, 100}, Counts: []int64{3, 6, 1}},
			"latency":     {Count: ref[int64](2), Sum: ref(30.0), SumSquares: ref(500.0)},
		},
		{
			"errors":      {Successes: ref[int64](2), Trials: ref[int64](30)},
			"latency-p95": {Bounds: []float64{10, 100}, Counts: []int64{1, 1, 0}},
			"latency":     {Count: ref[int64](0)},
		},
		{
			"latency": {Count: ref[int64](2), Sum: ref(50.0), SumSquares: ref(1300.0)},
		},
	}
	for i, w := range windows {
		win, now := window(i)
		var err error
		st, _, err = e.Observe(spec, st, events.MetricsObserved{Window: win, Versions: map[string]map[string]events.Observation{"v1": w}}, now)
		if err != nil {
			t.Fatalf("window %d: %v", i, err)
		}
	}
	// latency values 10, 20, 20, 30: mean 20, M2 200.
	want := []stats.Data{
		{Successes: 3, Trials: 40},
		{Bounds: []float64{10, 100}, Counts: []float64{4, 7, 1}},
		{Count: 4, Mu: 20, M2: 200},
	}
	if diff := cmp.Diff(want, st.Data[0]); diff != "" {
		t.Errorf("folded data (-want +got):\n%s", diff)
	}
	if st.Iteration != 3 || !st.WindowEnd.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("iteration %d, window end %s", st.Iteration, st.WindowEnd)
	}
}

func TestObserveRefuses(t *testing.T) {
	spec := perfSpec()
	st := mustStart(t, spec)
	e := New(WithAssessor(fixed(scripted(spec, -1, -1, av{}))))
	w0, now := window(0)
	st, _, err := e.Observe(spec, st, events.MetricsObserved{Window: w0}, now)
	if err != nil {
		t.Fatal(err)
	}
	w1, now := window(1)
	obs := func(w events.Window, m map[string]map[string]events.Observation) events.MetricsObserved {
		return events.MetricsObserved{Window: w, Versions: m}
	}
	ok := events.Observation{Successes: ref[int64](1), Trials: ref[int64](2)}
	tests := []struct {
		name    string
		e       Engine
		spec    events.ExperimentSpec
		obs     events.MetricsObserved
		wantErr error
		wantMsg string
	}{
		{"unknown version and metric", e, spec, obs(w1, map[string]map[string]events.Observation{
			"v9": {"errors": ok}, "v1": {"cpu": ok, "errors": ok},
		}), ErrInvalidObservation, `experiment "exp-1": invalid observation: ` +
			`data.versions["v1"]["cpu"]: unknown metric "cpu"; ` +
			`data.versions["v9"]: unknown version "v9"; the experiment's versions are v1`},
		{"wrong kind", e, spec, obs(w1, map[string]map[string]events.Observation{"v1": {
			"errors":      {Count: ref[int64](3), Sum: ref(1.0), SumSquares: ref(1.0)},
			"latency-p95": {Successes: ref[int64](1), Trials: ref[int64](2)},
		}}), ErrInvalidObservation, `experiment "exp-1": invalid observation: ` +
			`data.versions["v1"]["errors"]: metric "errors" is ratio: it takes successes and trials; ` +
			`data.versions["v1"]["latency-p95"]: metric "latency-p95" is quantile: it takes bounds and counts`},
		{"impossible values", e, spec, obs(w1, map[string]map[string]events.Observation{"v1": {
			"errors":      {Successes: ref[int64](3), Trials: ref[int64](2)},
			"latency-p95": {Bounds: []float64{10, 5}, Counts: []int64{1, -1, 0}},
		}}), ErrInvalidObservation, `experiment "exp-1": invalid observation: ` +
			`data.versions["v1"]["errors"]: need 0 <= successes <= trials, got 3 successes in 2 trials; ` +
			`data.versions["v1"]["latency-p95"].bounds[1]: bounds must be finite and strictly increasing, got 5; ` +
			`data.versions["v1"]["latency-p95"].counts[1]: must be >= 0, got -1`},
		{"histogram shape", e, spec, obs(w1, map[string]map[string]events.Observation{"v1": {
			"latency-p95": {Bounds: []float64{10}, Counts: []int64{1}},
		}}), ErrInvalidObservation, `experiment "exp-1": invalid observation: ` +
			`data.versions["v1"]["latency-p95"].counts: want 2 counts for 1 bounds (one per bucket and one above the last bound), got 1`},
		{"empty window", e, spec, obs(events.Window{Start: w1.Start, End: w1.Start}, nil),
			ErrInvalidObservation, `experiment "exp-1": invalid observation: data.window: must end after it starts, got [2026-03-01T12:01:00Z, 2026-03-01T12:01:00Z)`},
		{"assessor fails", New(WithAssessor(func(stats.Problem, [][]stats.Data, []bool) (stats.Assessment, error) {
			return stats.Assessment{}, errors.New("boom")
		})), spec, obs(w1, nil), ErrAssess, `experiment "exp-1" iteration 2: assessment failed: boom`},
		{"assessor of the wrong shape", New(WithAssessor(fixed(stats.Assessment{}))), spec, obs(w1, nil), ErrAssess,
			`experiment "exp-1" iteration 2: assessment failed: assessment has 0 versions, want 1`},
		{"invalid spec", e, events.ExperimentSpec{Kind: "x"}, obs(w1, nil), ErrInvalidSpec, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, res, err := tc.e.Observe(tc.spec, st, tc.obs, now)
			if !errors.Is(err, tc.wantErr) || (tc.wantMsg != "" && err.Error() != tc.wantMsg) {
				t.Errorf("Observe error = %v\nwant %v: %s", err, tc.wantErr, tc.wantMsg)
			}
			if !cmp.Equal(st, next) || res.Changed || res.Emit != nil {
				t.Errorf("a refused Observe changed the state or emitted events")
			}
		})
	}
}

func TestObserveDoesNotWriteThroughItsInput(t *testing.T) {
	spec := perfSpec()
	st := mustStart(t, spec)
	e := New(WithAssessor(fixed(scripted(spec, -1, -1, av{}))))
	w0, now := window(0)
	hist := events.Observation{Bounds: []float64{10}, Counts: []int64{1, 2}}
	st, _, err := e.Observe(spec, st, events.MetricsObserved{Window: w0,
		Versions: map[string]map[string]events.Observation{"v1": {"latency-p95": hist}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	before := mustJSON(t, st)
	w1, now := window(1)
	if _, _, err := e.Observe(spec, st, events.MetricsObserved{Window: w1,
		Versions: map[string]map[string]events.Observation{"v1": {"latency-p95": hist}}}, now); err != nil {
		t.Fatal(err)
	}
	if after := mustJSON(t, st); after != before {
		t.Errorf("Observe changed its input state:\n%s\n%s", before, after)
	}
}

func TestHistory(t *testing.T) {
	var h History
	for i := range 251 {
		h.record(Point{Iteration: i}, false)
	}
	if len(h.Points) > MaxHistory || h.Every != 4 {
		t.Fatalf("%d points every %d, want at most %d every 4", len(h.Points), h.Every, MaxHistory)
	}
	for i, p := range h.Points {
		if p.Iteration != 4*i {
			t.Fatalf("point %d is iteration %d, want %d", i, p.Iteration, 4*i)
		}
	}
	h.record(Point{Iteration: 251}, true)
	if last := h.Points[len(h.Points)-1]; last.Iteration != 251 {
		t.Errorf("final point is iteration %d, want 251", last.Iteration)
	}
}

// TestEmittedEventsMarshal guards against NaN reaching JSON: a version
// without data has undefined means and probabilities.
func TestEmittedEventsMarshal(t *testing.T) {
	spec := abnSpec()
	st := mustStart(t, spec)
	a := scripted(spec, -1, -1, av{}, av{}, av{})
	for i := range a.Versions {
		for j := range a.Versions[i].Metrics {
			a.Versions[i].Metrics[j] = stats.MetricResult{Mean: math.NaN(), Lower: math.Inf(-1), Upper: math.Inf(1)}
		}
		a.Versions[i].ProbFeasible = math.NaN()
		a.Versions[i].ObjectiveProbs[0] = math.NaN()
	}
	w, now := window(0)
	next, res, err := New(WithAssessor(fixed(a))).Observe(spec, st, events.MetricsObserved{Window: w}, now)
	if err != nil {
		t.Fatal(err)
	}
	mustJSON(t, next)
	for _, o := range res.WithService("shop").Emit {
		mustJSON(t, o.Data)
	}
}

func TestWithService(t *testing.T) {
	spec := canarySpec()
	st, res, err := New().Start(spec, "exp-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	all := res.Emit
	e := New(WithAssessor(fixed(scripted(spec, -1, -1, av{}, av{verdict: stats.Violated}))))
	obs, now := ratioObs(spec, 0, map[string][2]int64{"v1": {0, 10}})
	if _, res, err = e.Observe(spec, st, obs, now); err != nil {
		t.Fatal(err)
	}
	all = append(all, res.Emit...)
	all = append(all, Outbound{events.TypeExperimentFailed, events.Failed{}})
	got := Result{Emit: all}.WithService("shop")
	services := []string{}
	for _, o := range got.Emit {
		switch d := o.Data.(type) {
		case events.Started:
			services = append(services, d.Service)
		case events.Assessed:
			services = append(services, d.Service)
		case events.TrafficChanged:
			services = append(services, d.Service)
		case events.Completed:
			services = append(services, d.Service)
		case events.Failed:
			services = append(services, d.Service)
		}
	}
	if diff := cmp.Diff([]string{"shop", "shop", "shop", "shop", "shop"}, services); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if all[0].Data.(events.Started).Service != "" {
		t.Errorf("WithService changed its receiver")
	}
}

// TestObserveOutOfOrderWindows: windows from several senders arrive in any
// order and may overlap; each is folded in, and the counts are the sum.
func TestObserveOutOfOrderWindows(t *testing.T) {
	spec := events.ExperimentSpec{Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics:    []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: ref(0.5)}},
		Limits:     events.Limits{MinSamples: 1_000_000}}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st, _, err := New().Start(spec, "exp-ooo", t0)
	if err != nil {
		t.Fatal(err)
	}
	// Windows 3, 1, 2, then one overlapping 1 and 2 from another sender.
	for _, w := range [][2]int{{3, 4}, {1, 2}, {2, 3}, {1, 3}} {
		m := events.NewMetricsObserved(t0.Add(time.Duration(w[0])*time.Minute), t0.Add(time.Duration(w[1])*time.Minute))
		m.Set("v2", "errors", events.Ratio(1, 10))
		if st, _, err = New().Observe(spec, st, m, t0.Add(5*time.Minute)); err != nil {
			t.Fatalf("window %v: %v", w, err)
		}
	}
	if got := st.Data[1][0]; got.Trials != 40 || got.Successes != 4 {
		t.Errorf("folded %v successes in %v trials, want 4 in 40", got.Successes, got.Trials)
	}
	if !st.WindowEnd.Equal(t0.Add(4 * time.Minute)) {
		t.Errorf("WindowEnd %s, want the latest end", st.WindowEnd)
	}
}

// TestObserveRefusesOutsideRange: a mean window that no values in the
// metric's declared range could produce is refused, naming the metric.
func TestObserveRefusesOutsideRange(t *testing.T) {
	spec := perfSpec()
	spec.Metrics = append(spec.Metrics, events.MetricSpec{Name: "latency", Type: events.MetricMean, Unit: "ms", Max: ref(1500.0)})
	st := mustStart(t, spec)
	e := New(WithAssessor(fixed(scripted(spec, -1, -1, av{}))))
	w, now := window(0)
	const tail = `, the range metric "latency" declares (min, max; see docs/statistics.md): its mean verdicts assume it`
	for _, c := range []struct {
		name     string
		sum, sq  float64
		wantTail string
	}{
		// Values 0 and 2000: a mean of 1000 fits [0, 1500], the spread does not.
		{"beyond max", 2000, 4e6, "count 2, sum 2000 and sumSquares 4e+06 cannot come from values in [0, 1500]"},
		{"below the default min", -2, 2, "count 2, sum -2 and sumSquares 2 cannot come from values in [0, 1500]"},
		{"inside", 20, 400, ""},
	} {
		_, _, err := e.Observe(spec, st, events.MetricsObserved{Window: w, Versions: map[string]map[string]events.Observation{
			"v1": {"latency": {Count: ref[int64](2), Sum: ref(c.sum), SumSquares: ref(c.sq)}},
		}}, now)
		if c.wantTail == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		want := `experiment "exp-1": invalid observation: data.versions["v1"]["latency"]: ` + c.wantTail + tail
		if !errors.Is(err, ErrInvalidObservation) || err.Error() != want {
			t.Errorf("%s: error %v\nwant %s", c.name, err, want)
		}
	}
}
