package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// costSpec is a spec and what a user assumes of it, as `kn iter8 plan`
// takes them: the specs the cost model is checked and calibrated on.
type costSpec struct {
	name string
	spec string
	a    Assumptions
}

func values(rate float64, v map[string]float64) Assumptions {
	return Assumptions{Rate: rate, Values: map[string]map[string]float64{"v1": v}}
}

const (
	ratioMetrics = `"metrics":[{"name":"errors","type":"ratio"},{"name":"conversion","type":"ratio"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01}],"reward":{"metric":"conversion","direction":"maximize"}}`
	readmeMetrics = `"metrics":[{"name":"errors","type":"ratio"},{"name":"latency-p95","type":"quantile","quantile":0.95,"unit":"ms"},{"name":"conversion","type":"ratio"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01},{"metric":"latency-p95","upperLimit":250}],"reward":{"metric":"conversion","direction":"maximize"}}`
)

var costSpecs = []costSpec{
	{"ab-ratio", `{"kind":"ab","baseline":"v1","candidates":["v2"],` + ratioMetrics,
		values(20, map[string]float64{"conversion": 0.1, "errors": 0.002})},
	{"abn3-ratio", `{"kind":"abn","baseline":"v1","candidates":["v2","v3"],` + ratioMetrics,
		values(20, map[string]float64{"conversion": 0.1, "errors": 0.002})},
	// README's abn spec.
	{"abn3-readme", `{"kind":"abn","baseline":"v1","candidates":["v2","v3"],` + readmeMetrics,
		values(20, map[string]float64{"conversion": 0.1, "errors": 0.002, "latency-p95": 120})},
	// Four versions, two quantile metrics: the heaviest window.
	{"abn4-two-quantiles", `{"kind":"abn","baseline":"v1","candidates":["v2","v3","v4"],
	  "metrics":[{"name":"errors","type":"ratio"},{"name":"latency-p95","type":"quantile","quantile":0.95,"unit":"ms"},
	    {"name":"latency-p50","type":"quantile","quantile":0.5,"unit":"ms"},{"name":"conversion","type":"ratio"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01},{"metric":"latency-p95","upperLimit":250},{"metric":"latency-p50","upperLimit":100}],
	  "reward":{"metric":"conversion","direction":"maximize"}}`,
		values(20, map[string]float64{"conversion": 0.1, "errors": 0.002, "latency-p95": 120, "latency-p50": 60})},
	// A mean latency at 200 requests a second: drawn one request at a time.
	{"canary-mean-200", `{"kind":"canary","baseline":"v1","candidates":["v2"],
	  "metrics":[{"name":"errors","type":"ratio"},{"name":"latency","type":"mean","unit":"ms","max":1000}],
	  "objectives":[{"metric":"errors","upperLimit":0.01},{"metric":"latency","upperLimit":100}]}`,
		values(200, map[string]float64{"errors": 0.002, "latency": 55})},
	{"canary-quantile", `{"kind":"canary","baseline":"v1","candidates":["v2"],
	  "metrics":[{"name":"errors","type":"ratio"},{"name":"latency-p95","type":"quantile","quantile":0.95,"unit":"ms"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01},{"metric":"latency-p95","upperLimit":250}]}`,
		values(20, map[string]float64{"errors": 0.002, "latency-p95": 120})},
	{"performance-quantile", `{"kind":"performance","baseline":"v1",
	  "metrics":[{"name":"errors","type":"ratio"},{"name":"latency-p95","type":"quantile","quantile":0.95,"unit":"ms"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01},{"metric":"latency-p95","upperLimit":150}]}`,
		values(20, map[string]float64{"errors": 0.002, "latency-p95": 120})},
	// README's abn spec at one request a second: most runs reach the
	// horizon, so the run floors bind.
	{"abn3-readme-1rps", `{"kind":"abn","baseline":"v1","candidates":["v2","v3"],` + readmeMetrics,
		values(1, map[string]float64{"conversion": 0.1, "errors": 0.002, "latency-p95": 120})},
}

func costSpecNamed(tb testing.TB, name string) (events.ExperimentSpec, Assumptions) {
	tb.Helper()
	for _, c := range costSpecs {
		if c.name == name {
			spec, err := events.ParseSpec([]byte(c.spec))
			if err != nil {
				tb.Fatal(err)
			}
			return spec, c.a
		}
	}
	tb.Fatalf("no cost spec %q", name)
	return events.ExperimentSpec{}, Assumptions{}
}

// expectedCase is c's expected case in one-minute windows over 240 of
// them, as a plan simulates it when it zooms in.
func expectedCase(tb testing.TB, name string) (simulate.Scenario, grid) {
	tb.Helper()
	spec, a := costSpecNamed(tb, name)
	spec, a = spec.Defaulted(), a.defaulted()
	truth, err := a.truth(spec)
	if err != nil {
		tb.Fatal(err)
	}
	g := gridOf(a, spec.Limits.MaxDuration.Duration, MaxWindows)
	return g.scenario(name, runSpec(spec, g, MaxWindows), truth, spec), g
}

func TestWindowCost(t *testing.T) {
	// 1,200 requests a window (20 a second); a quantile draws them one
	// by one, up to 5,000 a version.
	tests := map[string]float64{
		"ab-ratio":             2 * 2,
		"abn3-ratio":           3 * 2,
		"abn3-readme":          3*(2+QuantileUnits) + 1200.0/RequestsPerUnit,
		"abn4-two-quantiles":   4*(2+2*QuantileUnits) + 2*1200.0/RequestsPerUnit,
		"canary-mean-200":      2*2 + 12000.0/RequestsPerUnit,
		"canary-quantile":      2*(1+QuantileUnits) + 1200.0/RequestsPerUnit,
		"performance-quantile": 1*(1+QuantileUnits) + 1200.0/RequestsPerUnit,
		"abn3-readme-1rps":     3*(2+QuantileUnits) + 60.0/RequestsPerUnit,
	}
	got := map[string]float64{}
	for name := range tests {
		sc, _ := expectedCase(t, name)
		got[name] = windowCost(sc)
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("windowCost (-want +got):\n%s", diff)
	}
}

// TestSizedByCost sizes a light and a heavy expected case under the same
// cost budget: each within its run bounds and the budget (give or take
// the runs a projection from the mean misses by), the same runs twice and
// on any number of workers, and the heavy one with fewer runs.
func TestSizedByCost(t *testing.T) {
	b := budget{units: 2000, windows: StepBudget, minRuns: 4, pilotRuns: 8, maxRuns: 60}
	runs := map[string]int{}
	for _, name := range []string{"ab-ratio", "abn3-readme"} {
		sc, g := expectedCase(t, name)
		o := simulate.Options{Seed: 7, Interval: g.window}
		rs, err := sized(sc, o, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Workers = 1
		again, err := sized(sc, o, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(intervals(rs), intervals(again)); diff != "" {
			t.Errorf("%s: sized again on one worker (-first +again):\n%s", name, diff)
		}
		n, units := len(rs), float64(windowsOf(rs))*windowCost(sc)
		t.Logf("%s: %.1f units a window, %d runs, %.0f units", name, windowCost(sc), n, units)
		if n < b.minRuns || n > b.maxRuns {
			t.Errorf("%s: %d runs, outside [%d, %d]", name, n, b.minRuns, b.maxRuns)
		}
		if n > b.minRuns && units > 1.5*b.units {
			t.Errorf("%s: %.0f units beyond the budget of %.0f", name, units, b.units)
		}
		runs[name] = n
	}
	if runs["abn3-readme"] >= runs["ab-ratio"] {
		t.Errorf("the heavy spec got %d runs, the light one %d: want fewer", runs["abn3-readme"], runs["ab-ratio"])
	}
}

// TestSizedKeepsTheFloorAndReserve: a budget too small for the floor
// still runs minRuns; a reserve for later cases takes runs off the
// projection; fixed runs reuse the runs given.
func TestSizedKeepsTheFloorAndReserve(t *testing.T) {
	sc, g := expectedCase(t, "ab-ratio")
	o := simulate.Options{Seed: 3, Interval: g.window}
	rs, err := sized(sc, o, budget{units: 1, windows: StepBudget, minRuns: 3, pilotRuns: 10, maxRuns: 50}, nil)
	if err != nil || len(rs) != 3 {
		t.Fatalf("a budget below the floor: %d runs, %v; want 3", len(rs), err)
	}
	free, err := sized(sc, o, budget{units: 1000, windows: StepBudget, minRuns: 3, pilotRuns: 10, maxRuns: 50}, rs)
	if err != nil {
		t.Fatal(err)
	}
	reserved, err := sized(sc, o, budget{units: 1000, left: 1000, reserve: 5, windows: StepBudget, minRuns: 3, pilotRuns: 10, maxRuns: 50}, rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(reserved) >= len(free) {
		t.Errorf("with a reserve of 5 runs: %d runs, without %d", len(reserved), len(free))
	}
	if diff := cmp.Diff(intervals(free[:3]), intervals(rs)); diff != "" {
		t.Errorf("continued runs differ from the runs given (-continued +given):\n%s", diff)
	}
	o.Runs = 2
	fixed, err := sized(sc, o, budget{}, free)
	if err != nil || len(fixed) != 2 || fixed[1].Intervals != free[1].Intervals {
		t.Errorf("fixed runs: %d runs, %v; want the first 2 given", len(fixed), err)
	}
}

func intervals(rs []simulate.RunResult) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Intervals)
	}
	return out
}

// TestREADMEPlanWithinBudget plans README's abn spec: the whole plan (its
// pilot, expected and bad-candidate cases) within CostBudget, give or
// take the runs a projection misses by, and every case above its floor.
func TestREADMEPlanWithinBudget(t *testing.T) {
	spec, a := costSpecNamed(t, "abn3-readme")
	p, err := Make(spec, a, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.0f units: %d runs (pilot %d), bad %+v", p.units, p.Runs, p.PilotRuns, p.Bad)
	if p.units > 1.05*CostBudget {
		t.Errorf("plan simulated %.0f units, budget %d", p.units, CostBudget)
	}
	if p.Runs < MinRuns || p.Runs >= MaxRuns {
		t.Errorf("%d runs: want a cost-bound count in [%d, %d)", p.Runs, MinRuns, MaxRuns)
	}
	for _, e := range p.Bad {
		if e.Runs < MinBadRuns {
			t.Errorf("bad %s: %d runs, below %d", e.Metric, e.Runs, MinBadRuns)
		}
	}
}
