package simulate

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

func reportJSON(t *testing.T, s Scenario, o Options) string {
	t.Helper()
	r, err := Run(s, o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDeterminism(t *testing.T) {
	s := loadTestScenario(t, "abn-three")
	for _, p := range []string{PolicyIter8, PolicyIter8V1} {
		t.Run(p, func(t *testing.T) {
			one := reportJSON(t, s, Options{Runs: 4, Seed: 3, Policy: p, Workers: 1})
			two := reportJSON(t, s, Options{Runs: 4, Seed: 3, Policy: p, Workers: 2})
			if diff := cmp.Diff(one, two); diff != "" {
				t.Errorf("same seed, 1 vs 2 workers (-1 +2):\n%s", diff)
			}
			if other := reportJSON(t, s, Options{Runs: 4, Seed: 4, Policy: p, Workers: 2}); other == one {
				t.Errorf("seeds 3 and 4 gave the same report: %s", one)
			}
		})
	}
}

// TestEveryPolicyRunsEveryScenario runs a few runs of each pair and checks
// what must hold whatever the draws.
func TestEveryPolicyRunsEveryScenario(t *testing.T) {
	files, err := ScenarioFiles(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		s, err := LoadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		possible := PossibleOutcomes(s.Experiment)
		for _, p := range Policies() {
			runs, err := RunAll(s, Options{Runs: 3, Seed: 1, Policy: p})
			if errors.Is(err, ErrNotApplicable) {
				continue
			}
			if err != nil {
				t.Errorf("%s/%s: %v", s.Name, p, err)
				continue
			}
			for i, r := range runs {
				served := int64(0)
				for _, c := range r.Served {
					served += c
				}
				switch {
				case !slices.Contains(possible, r.Outcome):
					t.Errorf("%s/%s run %d: outcome %q not in %v", s.Name, p, i, r.Outcome, possible)
				case r.Intervals < 1 || r.Intervals > s.Traffic.MaxIntervals:
					t.Errorf("%s/%s run %d: %d intervals, want 1..%d", s.Name, p, i, r.Intervals, s.Traffic.MaxIntervals)
				case served != int64(r.Intervals)*s.Traffic.RequestsPerInterval:
					t.Errorf("%s/%s run %d: served %d requests in %d intervals of %d", s.Name, p, i, served, r.Intervals, s.Traffic.RequestsPerInterval)
				case r.Outcome == OutcomeInconclusive && r.Intervals != s.Traffic.MaxIntervals && p != PolicyFixedHorizon:
					t.Errorf("%s/%s run %d: inconclusive after %d of %d intervals", s.Name, p, i, r.Intervals, s.Traffic.MaxIntervals)
				}
			}
		}
	}
}

func TestEngineOutcome(t *testing.T) {
	tests := []struct {
		outcome, winner, want string
	}{
		{events.OutcomePromoted, "v2", "v2"},
		{events.OutcomePromoted, "v1", "v1"},
		{events.OutcomeRolledBack, "", OutcomeRollback},
		{events.OutcomeAborted, "", OutcomeRollback},
		{events.OutcomeInconclusive, "", OutcomeInconclusive},
		{events.OutcomePassed, "", OutcomePass},
		{events.OutcomeFailedSLO, "", OutcomeFail},
	}
	for _, tt := range tests {
		st := experiment.State{Phase: experiment.PhaseCompleted, Outcome: tt.outcome, Winner: tt.winner}
		if got := engineOutcome(st); got != tt.want {
			t.Errorf("engineOutcome(%s, %q) = %q, want %q", tt.outcome, tt.winner, got, tt.want)
		}
	}
}

// TestJSONShape checks the contract's field names and types.
func TestJSONShape(t *testing.T) {
	for _, name := range []string{"ab-conversion", "canary-good"} {
		s := loadTestScenario(t, name)
		var got map[string]any
		if err := json.Unmarshal([]byte(reportJSON(t, s, Options{Runs: 2, Seed: 1})), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"scenario": "string", "policy": "string", "runs": "number", "seed": "number",
			"outcomes": "object", "correctRate": "number", "samples": "object", "intervals": "object",
			"exposure": "object", "failingExposure": "number", "regret": "object",
		}
		for k, typ := range want {
			if g := jsonType(got[k]); g != typ {
				t.Errorf("%s: %q is %s, want %s", name, k, g, typ)
			}
		}
		for _, k := range []string{"samples", "intervals"} {
			o, _ := got[k].(map[string]any)
			for _, f := range []string{"mean", "median", "p90"} {
				if jsonType(o[f]) != "number" {
					t.Errorf("%s: %s.%s is %s, want number", name, k, f, jsonType(o[f]))
				}
			}
		}
		if r, _ := got["regret"].(map[string]any); jsonType(r["mean"]) != "number" {
			t.Errorf("%s: regret.mean missing", name)
		}
		lb, present := got["lowerBound"]
		if !present {
			t.Errorf("%s: lowerBound missing; want an object or null", name)
		}
		if name == "ab-conversion" {
			if o, _ := lb.(map[string]any); jsonType(o["samples"]) != "number" {
				t.Errorf("ab-conversion: lowerBound = %v, want {samples: number}", lb)
			}
		} else if lb != nil {
			t.Errorf("%s: lowerBound = %v, want null", name, lb)
		}
		if got["scenario"] != name || got["policy"] != PolicyIter8 || got["runs"] != 2.0 || got["seed"] != 1.0 {
			t.Errorf("%s: header %v %v %v %v", name, got["scenario"], got["policy"], got["runs"], got["seed"])
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "other"
}

// tinyScenario has a hand-checkable truth: v2 converts best but violates
// the error objective, so the best feasible reward is v1's 0.10 and v3's
// 0.08 loses 0.02 per request.
const tinyScenario = `name: tiny
experiment:
  kind: abn
  baseline: v1
  candidates: [v2, v3]
  metrics:
    - {name: conversion, type: ratio}
    - {name: errors, type: ratio}
  objectives:
    - {metric: errors, upperLimit: 0.01}
  reward: {metric: conversion}
truth:
  v1: {conversion: {bernoulli: 0.10}, errors: {bernoulli: 0.001}}
  v2: {conversion: {bernoulli: 0.15}, errors: {bernoulli: 0.05}}
  v3: {conversion: {bernoulli: 0.08}, errors: {bernoulli: 0.001}}
traffic: {requestsPerInterval: 100, maxIntervals: 10}
expect: [v1, inconclusive]
`

func TestSummarizeArithmetic(t *testing.T) {
	s, err := ParseScenario([]byte(tinyScenario))
	if err != nil {
		t.Fatal(err)
	}
	runs := []RunResult{
		// 100 to v1, 200 to v2, 100 to v3: regret 0 + 200·(−0.05) + 100·0.02 = −8.
		{Outcome: "v1", Intervals: 4, Served: []int64{100, 200, 100}, Regret: -8, HorizonRegret: -8},
		// 600 requests, all v3: regret 12.
		{Outcome: "v3", Intervals: 6, Served: []int64{0, 0, 600}, Regret: 12, HorizonRegret: 20},
		{Outcome: OutcomeInconclusive, Intervals: 10, Served: []int64{1000, 0, 0}},
	}
	got := Summarize(s, "test", 9, runs)
	want := Report{
		Scenario: "tiny", Policy: "test", Runs: 3, Seed: 9,
		Outcomes:            map[string]int{"v1": 1, "v2": 0, "v3": 1, "rollback": 0, "inconclusive": 1},
		CorrectRate:         0.6667,
		CorrectRateInterval: [2]float64{0.2077, 0.9385},
		Samples:             Summary{Mean: 666.7, Median: 600, P90: 1000},
		Intervals:           Summary{Mean: 6.7, Median: 6, P90: 10},
		Exposure:            map[string]float64{"v1": 0.55, "v2": 0.1, "v3": 0.35},
		FailingExposure:     0.1,
		Regret:              Regret{Mean: 1.33, HorizonMean: 4},
		Expect:              []string{"v1", "inconclusive"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
}

func TestRegretIsCountedPerRequest(t *testing.T) {
	s, err := ParseScenario([]byte(tinyScenario))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := RunAll(s, Options{Runs: 3, Seed: 2, Policy: PolicyNaiveBayes})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		want := float64(r.Served[1])*-0.05 + float64(r.Served[2])*0.02
		if math.Abs(r.Regret-want) > 1e-9 {
			t.Errorf("run %d served %v: regret %v, want %v", i, r.Served, r.Regret, want)
		}
	}
}

func TestTruth(t *testing.T) {
	s, err := ParseScenario([]byte(tinyScenario))
	if err != nil {
		t.Fatal(err)
	}
	tr := TruthOf(s)
	got := struct {
		Failing []bool
		Best    float64
		Gaps    []float64
	}{tr.Failing, tr.Best, []float64{tr.Gap(0), tr.Gap(1), tr.Gap(2)}}
	want := struct {
		Failing []bool
		Best    float64
		Gaps    []float64
	}{[]bool{false, true, false}, 0.10, []float64{0, -0.05, 0.02}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-12 })); diff != "" {
		t.Errorf("TruthOf (-want +got):\n%s", diff)
	}

	perf := TruthOf(loadTestScenario(t, "performance-pass"))
	// p95 of lognormal(4, 0.3) = exp(4 + 0.3·1.6449).
	if got, want := perf.Values[0][1], math.Exp(4+0.3*1.6448536269514722); math.Abs(got-want) > 1e-9 {
		t.Errorf("performance-pass p95 = %v, want %v", got, want)
	}
	abn := TruthOf(loadTestScenario(t, "abn-three"))
	if diff := cmp.Diff([]bool{false, false, true}, abn.Failing); diff != "" {
		t.Errorf("abn-three failing (-want +got):\n%s", diff)
	}
	if got, want := abn.Values[0][2], math.Exp(4+0.045); math.Abs(got-want) > 1e-9 {
		t.Errorf("abn-three latency mean = %v, want %v", got, want)
	}
}

func TestLowerBounds(t *testing.T) {
	tests := []struct {
		scenario string
		gk       float64 // 0: none
		lr       float64 // Lai–Robbins constant; 0: none
	}{
		// 0.10 vs 0.12 at delta 0.05: about 5,181 samples (the scenario
		// file's own comment); (0.12−0.10)/kl(0.10, 0.12).
		{"ab-conversion", 5181, 0.02 / (0.1*math.Log(0.1/0.12) + 0.9*math.Log(0.9/0.88))},
		{"aa-conversion", 0, 0},
		{"abn-three", 0, 0}, // v3 violates the error objective: binding
		{"canary-good", 0, 0},
		{"performance-pass", 0, 0},
	}
	for _, tt := range tests {
		s := loadTestScenario(t, tt.scenario)
		tr := TruthOf(s)
		gk, lr := GKBound(s, tr), LaiRobbinsBound(s, tr)
		if (gk != nil) != (tt.gk != 0) || gk != nil && math.Abs(gk.Samples-tt.gk) > 1 {
			t.Errorf("%s: GK bound %+v, want %v", tt.scenario, gk, tt.gk)
		}
		if (lr != nil) != (tt.lr != 0) || lr != nil && math.Abs(lr.Constant-tt.lr) > 1e-9 {
			t.Errorf("%s: Lai–Robbins %+v, want constant %v", tt.scenario, lr, tt.lr)
		}
		if lr != nil && math.Abs(lr.Regret-lr.Constant*math.Log(100000)) > 1e-9 {
			t.Errorf("%s: Lai–Robbins regret %v, want constant × ln(200·500)", tt.scenario, lr.Regret)
		}
	}
}
