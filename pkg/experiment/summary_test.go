package experiment

import (
	"testing"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

func TestSummary(t *testing.T) {
	step := func(spec events.ExperimentSpec, st State, a stats.Assessment, counts map[string][2]int64) State {
		t.Helper()
		obs, now := ratioObs(spec, st.Iteration, counts)
		next, _, err := New(WithAssessor(fixed(a))).Observe(spec, st, obs, now)
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	abn := abnSpec()
	abnStart := mustStart(t, abn)
	abnRunning := step(abn, abnStart, scripted(abn, -1, 1,
		av{win: 0.05, top: 0.1}, av{win: 0.93, top: 0.6}, av{verdict: stats.Violated, win: 0.02, top: 0.3}),
		map[string][2]int64{"v1": {1, 50}})
	canary := canarySpec()
	canaryRunning := step(canary, mustStart(t, canary), scripted(canary, -1, -1, av{}, av{feasible: 0.4}),
		map[string][2]int64{"v2": {0, 10}})
	canaryPaused, _, err := New().Control(canary, canaryRunning, events.Control{Action: events.ActionPause}, t0)
	if err != nil {
		t.Fatal(err)
	}
	canaryDone := step(canary, canaryRunning, scripted(canary, -1, -1, av{},
		av{verdict: stats.Violated, objectives: []stats.Verdict{stats.Violated, stats.Undecided}}),
		map[string][2]int64{"v2": {0, 10}})
	perf := perfSpec()
	perfRunning := step(perf, mustStart(t, perf), scripted(perf, -1, -1, av{feasible: 0.8766}), map[string][2]int64{"v1": {0, 10}})
	failed, _, err := New().Fail(perf, perfRunning, Failure{Reason: "revision v1 vanished"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec events.ExperimentSpec
		st   State
		want string
	}{
		{"started", abn, abnStart, "Running · abn · iteration 0 · waiting for data · traffic v1=34 v2=33 v3=33"},
		{"abn running", abn, abnRunning,
			"Running · abn · iteration 1 · leader v2 (P(best)=0.93) · excluded v3 · traffic v1=47 v2=53 v3=0"},
		{"canary running", canary, canaryRunning, "Running · canary · iteration 1 · v2 P(objectives)=0.40 · traffic v1=90 v2=10"},
		{"canary paused", canary, canaryPaused, "Paused · canary · iteration 1 · v2 P(objectives)=0.40 · traffic v1=90 v2=10"},
		{"canary rolled back", canary, canaryDone,
			"Completed · canary · rolledBack · v2 violates errors ≤ 0.01 · iteration 2 · traffic v1=100 v2=0"},
		{"performance", perf, perfRunning, "Running · performance · iteration 1 · v1 P(objectives)=0.88 · warning: latency-p95 ≤ 150: inside bucket (100, 250]; decidable at 100 or 250"},
		{"failed", perf, failed, "Failed · performance · revision v1 vanished · iteration 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summary(tc.spec, tc.st); got != tc.want {
				t.Errorf("Summary() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
