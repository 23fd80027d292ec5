package plan

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

func load(t *testing.T, name string) simulate.Scenario {
	t.Helper()
	s, err := simulate.LoadScenario(filepath.Join("..", "..", "test", "scenarios", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The fast subset of the benchmark's accuracy check (test/planbench runs
// every scenario): the planned median samples within ±20% of what the
// simulator measures on the scenario itself, the p90 within ±30%, both
// read as grouped data (gridQuantile).
func TestPlanMatchesSimulator(t *testing.T) {
	for _, name := range []string{"canary-good", "canary-bad-errors", "performance-pass"} {
		t.Run(name, func(t *testing.T) {
			acc, err := PlanAccuracy(load(t, name), 300, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if r := acc.GridMedianRatio; !acc.MedianMet() {
				t.Errorf("planned median samples %.0f, measured %.0f: ratio %.2f outside ±20%%", acc.GridPlanned[0], acc.GridMeasured[0], r)
			}
			if r := acc.GridP90Ratio; !acc.P90Met() {
				t.Errorf("planned p90 samples %.0f, measured %.0f: ratio %.2f outside ±30%%", acc.GridPlanned[1], acc.GridMeasured[1], r)
			}
			// The benchmark tables each interval beside the figure it
			// is of: the order statistic the plan prints.
			for _, c := range []struct {
				name string
				x    float64
				ci   [2]float64
			}{{"median", acc.Planned.Median, acc.PlanMedianCI}, {"p90", acc.Planned.P90, acc.PlanP90CI}} {
				if !(c.ci[0] <= c.x && c.x <= c.ci[1]) {
					t.Errorf("planned %s %.0f outside its 95%% MC interval %.0f–%.0f", c.name, c.x, c.ci[0], c.ci[1])
				}
			}
		})
	}
}

func canarySpec(t *testing.T) events.ExperimentSpec {
	t.Helper()
	spec, err := events.ParseSpec([]byte(`{"kind":"canary","baseline":"v1","candidates":["v2"],
	  "metrics":[{"name":"errors","type":"ratio"},{"name":"latency","type":"mean","unit":"ms"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01},{"metric":"latency","upperLimit":100}],
	  "limits":{"maxDuration":"30m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestGridQuantile(t *testing.T) {
	tests := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 0.5, 2},
		// Half the runs at 500: the median is the window's end.
		{[]float64{500, 500, 1000, 1000}, 0.5, 500},
		// 40% of runs at 1,000, 90% by 1,500: the median lies a fifth of
		// the way from 1,000 to 1,500.
		{[]float64{1000, 1000, 1000, 1000, 1500, 1500, 1500, 1500, 1500, 2000}, 0.5, 1100},
		// Most runs at the horizon: interpolated within its last window,
		// not back to the last run that decided.
		{[]float64{2000, 10000, 10000, 10000}, 0.5, 9500 + 500*(0.5-0.25)/0.75},
		{[]float64{1000}, 0.9, 500 + 0.9*500},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, gridQuantile(tt.xs, tt.p, 500)); diff != "" {
			t.Errorf("gridQuantile(%v, %v) (-want +got):\n%s", tt.xs, tt.p, diff)
		}
	}
}

func TestMakeIsDeterministicAndWarns(t *testing.T) {
	spec := canarySpec(t)
	a := Assumptions{Rate: 0.1, Values: map[string]map[string]float64{"v1": {"errors": 0.002, "latency": 60}}}
	p1, err := Make(spec, a, Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Make(spec, a, Options{Seed: 3, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p1, p2, cmp.AllowUnexported(Plan{})); diff != "" {
		t.Errorf("same inputs and seed, different plans (-workers=all +workers=1):\n%s", diff)
	}
	checkIntervals(t, p1)
	// 6 requests a minute cannot show a 0.2% error rate below 1% in 30m.
	if p1.Decided >= WantDecided || len(p1.Warnings) == 0 || len(p1.Suggestions) == 0 {
		t.Errorf("decided %.2f with warnings %q and suggestions %q; want a warning and suggestions", p1.Decided, p1.Warnings, p1.Suggestions)
	}
	if len(p1.Bad) != 2 || p1.Bad[0].Metric != "errors" || p1.Bad[0].Value != 0.015 {
		t.Errorf("bad cases %+v, want errors at 0.015 then latency", p1.Bad)
	}
}

func TestAssumptionErrorsNameTheField(t *testing.T) {
	spec := canarySpec(t)
	tests := []struct {
		name string
		a    Assumptions
		want []string
	}{
		{"no rate", Assumptions{Values: map[string]map[string]float64{"v1": {"errors": 0.002, "latency": 60}}}, []string{"rate: must be > 0"}},
		{"no baseline value", Assumptions{Rate: 10, Values: map[string]map[string]float64{"v1": {"errors": 0.002}}}, []string{"[latency]", "--baseline", "--prometheus URL"}},
		{"no baseline value in Prometheus", Assumptions{Rate: 10, Values: map[string]map[string]float64{"v1": {"errors": 0.002}}, Observed: map[string]stats.Data{"errors": {Successes: 2, Trials: 1000}}}, []string{"[latency]", "Prometheus had no data for them", "--baseline"}},
		{"unknown version", Assumptions{Rate: 10, Values: map[string]map[string]float64{"v9": {"errors": 0.1}}}, []string{`values["v9"]: unknown version "v9"`}},
		{"ratio out of range", Assumptions{Rate: 10, Values: map[string]map[string]float64{"v1": {"errors": 0.002, "latency": 60}, "v2": {"errors": 2}}}, []string{"errors: a ratio must be in [0, 1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Make(spec, tt.a, Options{Runs: 1})
			if !errors.Is(err, ErrAssumptions) {
				t.Fatalf("error %v, want ErrAssumptions", err)
			}
			var missing []string
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					missing = append(missing, w)
				}
			}
			if diff := cmp.Diff([]string(nil), missing); diff != "" {
				t.Errorf("error %q lacks (-want +got):\n%s", err, diff)
			}
		})
	}
}

// An ETA continues the engine from the state: it is the same for the
// same state, stays within the horizon, names only outcomes the kind can
// reach, and there is none for an experiment that has ended.
func TestEstimateContinuesTheState(t *testing.T) {
	s := load(t, "canary-bad-errors")
	var states []experiment.State
	_, err := simulate.RunAll(s, simulate.Options{Runs: 1, Seed: 2, Workers: 1, OnState: func(_ int, st experiment.State) { states = append(states, st) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(states) < 3 {
		t.Fatalf("run decided after %d windows; want a longer one", len(states))
	}
	first, err := Estimate(s.Experiment, states[0], ETAOptions{Runs: 40, Horizon: 30})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Estimate(s.Experiment, states[0], ETAOptions{Runs: 40, Horizon: 30, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("the same state gave another ETA (-all workers +one):\n%s", diff)
	}
	if first.Windows < 1 || first.Windows > 30 || first.P10 > first.Median || first.Median > first.P90 {
		t.Errorf("ETA %+v: want 1 to 30 windows, p10 <= median <= p90", first)
	}
	for o := range first.Outcomes {
		if o != simulate.OutcomeRollback && o != "v2" {
			t.Errorf("outcome %q: a canary ends promoted or rolled back", o)
		}
	}
	if first.Window != time.Minute.Seconds() || first.Iteration != 1 || first.Rate != 500.0/60 {
		t.Errorf("ETA read window %vs and rate %v at iteration %d, want 60s, 8.33/s at 1", first.Window, first.Rate, first.Iteration)
	}
	if _, err := Estimate(s.Experiment, states[len(states)-1], ETAOptions{}); !errors.Is(err, ErrNoETA) {
		t.Errorf("ETA of a completed experiment: %v, want ErrNoETA", err)
	}
}

// The plan's targets include their ends, which |r − 1| ≤ margin does not
// in floating point at 0.7 and 1.3.
func TestPlanTargetsIncludeTheirEnds(t *testing.T) {
	for _, tc := range []struct {
		median, p90       float64
		medianMet, p90Met bool
	}{
		{0.8, 0.7, true, true},
		{1.2, 1.3, true, true},
		{8.0 / 10, 7.0 / 10, true, true},
		{12.0 / 10, 13.0 / 10, true, true},
		{0.7999, 0.6999, false, false},
		{1.2001, 1.3001, false, false},
	} {
		a := Accuracy{GridMedianRatio: tc.median, GridP90Ratio: tc.p90}
		if a.MedianMet() != tc.medianMet || a.P90Met() != tc.p90Met {
			t.Errorf("median %v, p90 %v: met %v, %v; want %v, %v", tc.median, tc.p90, a.MedianMet(), a.P90Met(), tc.medianMet, tc.p90Met)
		}
	}
}
