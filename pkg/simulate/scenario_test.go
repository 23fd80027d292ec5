package simulate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scenarioDir is the repository's copy of the shared scenarios.
const scenarioDir = "../../test/scenarios"

func loadTestScenario(t *testing.T, name string) Scenario {
	t.Helper()
	s, err := LoadScenario(filepath.Join(scenarioDir, name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSharedScenariosParse(t *testing.T) {
	files, err := ScenarioFiles(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		s, err := LoadScenario(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".yaml"); s.Name != want {
			t.Errorf("%s: name %q, want %q", f, s.Name, want)
		}
		names = append(names, s.Name)
	}
	want := []string{"aa-conversion", "ab-conversion", "ab-latency-seconds", "abn-three", "canary-bad-errors", "canary-good", "performance-pass"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("scenarios (-want +got):\n%s", diff)
	}
}

func TestParseScenarioFields(t *testing.T) {
	s := loadTestScenario(t, "abn-three")
	got := struct {
		Kind       string
		Versions   []string
		Requests   int64
		Intervals  int
		Expect     []string
		V3Errors   float64
		V1LatMu    float64
		V1LatSigma float64
	}{
		s.Experiment.Kind, s.Experiment.Versions(), s.Traffic.RequestsPerInterval, s.Traffic.MaxIntervals, s.Expect,
		*s.Truth["v3"]["errors"].Bernoulli, *s.Truth["v1"]["latency"].LogNormal.Mu, *s.Truth["v1"]["latency"].LogNormal.Sigma,
	}
	want := struct {
		Kind       string
		Versions   []string
		Requests   int64
		Intervals  int
		Expect     []string
		V3Errors   float64
		V1LatMu    float64
		V1LatSigma float64
	}{"abn", []string{"v1", "v2", "v3"}, 1000, 400, []string{"v2"}, 0.03, 4.0, 0.3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed abn-three (-want +got):\n%s", diff)
	}
}

// goodScenario is a valid scenario that the bad cases below each break in
// one place.
const goodScenario = `name: tiny
experiment:
  kind: ab
  baseline: v1
  candidates: [v2]
  metrics:
    - {name: conversion, type: ratio}
    - {name: revenue, type: mean}
  reward: {metric: conversion}
truth:
  v1: {conversion: {bernoulli: 0.1}, revenue: {normal: {mean: 5, sd: 1}}}
  v2: {conversion: {bernoulli: 0.2}, revenue: {exponential: {mean: 5}}}
traffic: {requestsPerInterval: 100, maxIntervals: 10}
expect: [v2]
`

func TestParseScenarioGood(t *testing.T) {
	s, err := ParseScenario([]byte(goodScenario))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *s.Truth["v2"]["revenue"].Exponential.Mean, 5.0; got != want {
		t.Errorf("v2 revenue mean = %v, want %v", got, want)
	}
}

func TestParseScenarioBad(t *testing.T) {
	tests := []struct {
		name, from, to string
		want           string // a substring of the error
	}{
		{"unknown top-level field", "expect: [v2]", "expect: [v2]\nexpected: [v1]", "unknown field"},
		{"misspelt traffic field", "maxIntervals: 10", "maxInterval: 10", "unknown field"},
		{"duplicate key", "name: tiny", "name: tiny\nname: other", "already set"},
		{"unknown field in distribution", "{bernoulli: 0.2}", "{bernoulli: 0.2, p: 1}", "unknown field"},
		{"unknown distribution", "{exponential: {mean: 5}}", "{poisson: {mean: 5}}", "unknown field"},
		{"unknown parameter", "{normal: {mean: 5, sd: 1}}", "{normal: {mean: 5, stddev: 1}}", "unknown field"},
		{"invalid experiment", "reward: {metric: conversion}", "", "reward"},
		{"unknown field in experiment", "kind: ab", "kind: ab\n  kinds: ab", "unknown field"},
		{"no experiment", "experiment:\n  kind: ab\n  baseline: v1\n  candidates: [v2]\n  metrics:\n    - {name: conversion, type: ratio}\n    - {name: revenue, type: mean}\n  reward: {metric: conversion}\n", "", "experiment: required"},
		{"missing name", "name: tiny", "name: ''", "name: required"},
		{"missing version", "  v2: {conversion: {bernoulli: 0.2}, revenue: {exponential: {mean: 5}}}\n", "", `truth["v2"]: required`},
		{"extra version", "traffic:", "  v9: {conversion: {bernoulli: 0.2}, revenue: {exponential: {mean: 5}}}\ntraffic:", `truth["v9"]: unknown version`},
		{"missing metric", "{conversion: {bernoulli: 0.2}, revenue: {exponential: {mean: 5}}}", "{conversion: {bernoulli: 0.2}}", `truth["v2"]["revenue"]: required`},
		{"extra metric", "revenue: {exponential: {mean: 5}}}", "revenue: {exponential: {mean: 5}}, clicks: {bernoulli: 0.5}}", `unknown metric "clicks"`},
		{"two distributions", "{bernoulli: 0.2}", "{bernoulli: 0.2, exponential: {mean: 1}}", "exactly one"},
		{"no distribution", "{bernoulli: 0.2}", "{}", "exactly one"},
		{"ratio not bernoulli", "{bernoulli: 0.2}", "{normal: {mean: 0.2, sd: 0.1}}", "must be bernoulli"},
		{"probability above one", "{bernoulli: 0.2}", "{bernoulli: 1.2}", "[0, 1]"},
		{"negative sd", "sd: 1", "sd: -1", "normal.sd: must be > 0"},
		{"missing sd", "{mean: 5, sd: 1}", "{mean: 5}", "normal.sd: required"},
		{"zero exponential mean", "{exponential: {mean: 5}}", "{exponential: {mean: 0}}", "exponential.mean: must be > 0"},
		{"no requests", "requestsPerInterval: 100", "requestsPerInterval: 0", "requestsPerInterval"},
		{"no intervals", "maxIntervals: 10", "maxIntervals: 0", "maxIntervals"},
		{"no expect", "expect: [v2]", "expect: []", "expect: required"},
		{"impossible outcome", "expect: [v2]", "expect: [pass]", "not an outcome of a ab experiment"},
		{"duplicate outcome", "expect: [v2]", "expect: [v2, v2]", "duplicate outcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(goodScenario, tt.from, tt.to, 1)
			if src == goodScenario {
				t.Fatalf("test case does not change the scenario: %q not found", tt.from)
			}
			_, err := ParseScenario([]byte(src))
			if err == nil {
				t.Fatalf("ParseScenario succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestPossibleOutcomes(t *testing.T) {
	tests := []struct {
		scenario string
		want     []string
	}{
		{"abn-three", []string{"v1", "v2", "v3", "rollback", "inconclusive"}},
		{"canary-good", []string{"v2", "rollback", "inconclusive"}},
		{"performance-pass", []string{"pass", "fail", "inconclusive"}},
	}
	for _, tt := range tests {
		got := PossibleOutcomes(loadTestScenario(t, tt.scenario).Experiment)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.scenario, diff)
		}
	}
}

func TestResolveScenario(t *testing.T) {
	got, err := ResolveScenario("ab-conversion", scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(scenarioDir, "ab-conversion.yaml"); got != want {
		t.Errorf("ResolveScenario = %q, want %q", got, want)
	}
	if _, err := ResolveScenario("no-such-scenario", scenarioDir); err == nil {
		t.Error("ResolveScenario of a missing scenario succeeded")
	}
}
