package present

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/pkg/plan"
)

func TestETAText(t *testing.T) {
	tests := []struct {
		eta  plan.ETA
		want string
	}{
		{plan.ETA{Iteration: 6, Runs: 100, Point: 1200, P10: 900, Median: 1500, P90: 2100, Decided: 1},
			"~20m to a decision (median 25m; 10–90%: 15m–35m), 100% before maxDuration · 100 runs from iteration 6"},
		{plan.ETA{Iteration: 1, Runs: 20, Point: 3600, P10: 60, Median: 5400, P90: 86400, Decided: 0.004},
			"~1h to a decision (median 1h30m; 10–90%: 1m–24h), <1% before maxDuration · 20 runs from iteration 1"},
		// A bad canary's forecast: the outcomes split, and each has its
		// own time. An outcome under 10% is not listed; ties go by name.
		{plan.ETA{Iteration: 2, Runs: 100, Point: 120, P10: 60, Median: 600, P90: 900, Decided: 1,
			Outcomes:       map[string]float64{"rollback": 0.62, "shop-v2": 0.3, "shop-v3": 0.08},
			OutcomeMedians: map[string]float64{"rollback": 90, "shop-v2": 720, "shop-v3": 60}},
			"~2m to a decision (median 10m; 10–90%: 1m–15m), 100% before maxDuration · rollback 62% in ~1m30s, shop-v2 30% in ~12m · 100 runs from iteration 2"},
		{plan.ETA{Iteration: 2, Runs: 100, Point: 120, P10: 60, Median: 600, P90: 900, Decided: 1,
			Outcomes:       map[string]float64{"passed": 0.5, "failed": 0.5},
			OutcomeMedians: map[string]float64{"passed": 600, "failed": 60}},
			"~2m to a decision (median 10m; 10–90%: 1m–15m), 100% before maxDuration · failed 50% in ~1m, passed 50% in ~10m · 100 runs from iteration 2"},
		// A tenth of 30 runs is three: too few to list, as is four.
		{plan.ETA{Iteration: 3, Runs: 30, Point: 120, P10: 60, Median: 600, P90: 900, Decided: 1,
			Outcomes:       map[string]float64{"shop-v2": 0.6, "rollback": 0.3, "inconclusive": 0.1},
			OutcomeMedians: map[string]float64{"shop-v2": 700, "rollback": 90, "inconclusive": 86400}},
			"~2m to a decision (median 10m; 10–90%: 1m–15m), 100% before maxDuration · shop-v2 60% in ~12m, rollback 30% in ~1m30s · 30 runs from iteration 3"},
		{plan.ETA{Iteration: 3, Runs: 40, Point: 120, P10: 60, Median: 600, P90: 900, Decided: 1,
			Outcomes:       map[string]float64{"shop-v2": 0.9, "rollback": 0.1},
			OutcomeMedians: map[string]float64{"shop-v2": 700, "rollback": 90}},
			"~2m to a decision (median 10m; 10–90%: 1m–15m), 100% before maxDuration · 40 runs from iteration 3"},
		// One outcome all but certain: nothing to split.
		{plan.ETA{Iteration: 6, Runs: 100, Point: 1200, P10: 900, Median: 1500, P90: 2100, Decided: 1,
			Outcomes:       map[string]float64{"shop-v2": 0.92, "rollback": 0.08},
			OutcomeMedians: map[string]float64{"shop-v2": 1500, "rollback": 60}},
			"~20m to a decision (median 25m; 10–90%: 15m–35m), 100% before maxDuration · 100 runs from iteration 6"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ETAText(tt.eta)); diff != "" {
			t.Errorf("ETAText (-want +got):\n%s", diff)
		}
	}
}

func TestWritePlan(t *testing.T) {
	p := plan.Plan{
		Kind: "canary", Versions: []string{"v1", "v2"}, Rate: 5, Window: 60, Coarsened: 3, MaxDuration: 3600, Runs: 100, PilotRuns: 30, Seed: 1,
		Assumed: map[string]map[string]float64{"v1": {"errors": 0.002}, "v2": {"errors": 0.002}},
		Samples: plan.Quantiles{Median: 3000, P90: 6000, MedianCI: [2]float64{2500, 3500}, P90CI: [2]float64{5000, 7200}},
		Time:    plan.Quantiles{Median: 600, P90: 1200, MedianCI: [2]float64{500, 700}, P90CI: [2]float64{1000, 7200}, Censored: true},
		// 70, 30 and 0 of 100 runs, 38 of 40: Clopper–Pearson intervals.
		Decided: 0.7, DecidedSE: 0.05, DecidedCI: [2]float64{0.60019, 0.78759},
		Outcomes:   map[string]float64{"v2": 0.7, "rollback": 0.3, "inconclusive": 0},
		OutcomesCI: map[string][2]float64{"v2": {0.60019, 0.78759}, "rollback": {0.21241, 0.39981}, "inconclusive": {0, 0.03622}},
		Bad: []plan.Exposure{{Version: "v2", Metric: "errors", Value: 0.015, Limit: 0.01, Requests: 812.4, RequestsCI: [2]float64{640.2, 984.6}, Share: 0.21, ShareCI: [2]float64{0.173, 0.247},
			Caught: 0.95, CaughtCI: [2]float64{0.83080, 0.99389}, Time: 1800, TimeCI: [2]float64{1500, 2100}, Runs: 40}},
		Warnings:    []string{"only 70% of 100 runs decide before maxDuration 1h0m0s (95% MC: 60–79%)"},
		Suggestions: []string{"a longer maxDuration: 1h30m decides in 80% of runs"},
	}
	var b strings.Builder
	if err := WritePlan(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `Plan:      canary experiment, v1 vs v2, 5.00 requests/s, windows of 1m (3 real windows folded into one)
Method:    100 simulated runs of the real engine (after a coarse pilot of 30), seed 1
Requests:  median 3,000, p90 6,000  (95% MC: median 2,500–3,500, p90 5,000–7,200)
Time:      median 10m, p90 20m or more (runs reached the horizon)  (95% MC: median 8m20s–12m, p90 17m–2h)
In time:   70% decide before maxDuration 1h  (95% MC: 60–79%)
Outcomes:  rollback 30%, v2 70%; inconclusive 0%  (95% MC: 21–40%, 60–79%; 0–4%)

ASSUMED  ERRORS
v1       0.00200
v2       0.00200

A candidate as bad as the SLO margin (in parentheses: 95% MC intervals):
IF BAD  METRIC  VALUE   LIMIT   REQUESTS TO IT  SHARE         CAUGHT IN TIME  MEDIAN TIME    RUNS
v2      errors  0.0150  0.0100  812 (640–985)   21% (17–25%)  95% (83–100%)   30m (25m–35m)  40

Warning: only 70% of 100 runs decide before maxDuration 1h0m0s (95% MC: 60–79%)

What would help:
  - a longer maxDuration: 1h30m decides in 80% of runs
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WritePlan (-want +got):\n%s", diff)
	}
}

// Outcomes no run ended with still show how likely they may be; interval
// ends round outward.
func TestPlanOutcomes(t *testing.T) {
	tests := []struct {
		out  map[string]float64
		ci   map[string][2]float64
		want string
	}{
		{map[string]float64{"v2": 1, "v1": 0, "inconclusive": 0}, map[string][2]float64{"v2": {0.6915, 1}, "v1": {0, 0.3085}, "inconclusive": {0, 0.3085}},
			"v2 100%; inconclusive, v1 0%  (95% MC: 69–100%; 0–31% each)"},
		{map[string]float64{"pass": 0.5, "fail": 0.5}, map[string][2]float64{"pass": {0.18709, 0.81291}, "fail": {0.18709, 0.81291}},
			"fail 50%, pass 50%  (95% MC: 18–82%, 18–82%)"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, outcomes(plan.Plan{Outcomes: tt.out, OutcomesCI: tt.ci})); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
	}
}

// A canary's outlook from the Service's past: the likelier outcome first,
// each with its time, then the candidate's share of requests and how the
// outlook was made; an outcome no run reached is left out.
func TestPlanOutlook(t *testing.T) {
	tests := []struct {
		o    plan.Outlook
		want string
	}{
		{plan.Outlook{Candidates: 4, RunsEach: 100, Runs: 400, Share: 0.2213,
			Outcomes:   map[string]float64{"v2": 0.5, "rollback": 0.5},
			OutcomesCI: map[string][2]float64{"v2": {0.44991, 0.55009}, "rollback": {0.44991, 0.55009}},
			Times:      map[string]float64{"v2": 180, "rollback": 60}},
			"like its 4 past canaries: rollback 50% in ~1m, v2 50% in ~3m; the candidate serves 22% of requests  (100 runs each; 95% MC: 44–56%, 44–56%)"},
		{plan.Outlook{Candidates: 1, RunsEach: 22, Runs: 22, Share: 0.93,
			Outcomes:   map[string]float64{"v2": 1, "rollback": 0},
			OutcomesCI: map[string][2]float64{"v2": {0.84563, 1}, "rollback": {0, 0.15437}},
			Times:      map[string]float64{"v2": 2160}},
			"like its past canary: v2 100% in ~36m; the candidate serves 93% of requests  (22 runs each; 95% MC: 84–100%)"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, outlook(tt.o)); diff != "" {
			t.Errorf("outlook (-want +got):\n%s", diff)
		}
		p := plan.Plan{Kind: "canary", Versions: []string{"v1", "v2"}, Outlook: &tt.o,
			Assumed: map[string]map[string]float64{"v1": {"errors": 0.002}, "v2": {"errors": 0.002}}}
		var b strings.Builder
		if err := WritePlan(&b, p); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "\nOutlook:   "+tt.want+"\n") {
			t.Errorf("WritePlan lacks the outlook row %q:\n%s", tt.want, b.String())
		}
	}
}
