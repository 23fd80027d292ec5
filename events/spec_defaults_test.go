package events

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func specRef[T any](v T) *T { return &v }

func TestDefaulted(t *testing.T) {
	day := &Duration{24 * time.Hour}
	tests := []struct {
		name string
		in   ExperimentSpec
		want ExperimentSpec
	}{{
		name: "canary",
		in: ExperimentSpec{
			Kind: KindCanary, Baseline: "v1", Candidates: []string{"v2"},
			Metrics:    []MetricSpec{{Name: "errors", Type: MetricRatio}},
			Objectives: []Objective{{Metric: "errors", UpperLimit: specRef(0.01)}},
		},
		want: ExperimentSpec{
			Kind: KindCanary, Baseline: "v1", Candidates: []string{"v2"},
			Metrics:    []MetricSpec{{Name: "errors", Type: MetricRatio, OnMissing: "wait"}},
			Objectives: []Objective{{Metric: "errors", UpperLimit: specRef(0.01)}},
			Confidence: 0.95,
			Traffic: TrafficSpec{Strategy: "progressive", InitialCandidatePercent: specRef(10),
				MaxCandidatePercent: specRef(100), MaxIncrement: specRef(20)},
			Limits:    Limits{MaxDuration: day, MaxSamples: 1_000_000, MinSamples: 100},
			OnSuccess: "promote", OnFailure: "rollback",
		},
	}, {
		name: "abn leaves the initial split equal",
		in: ExperimentSpec{
			Kind: KindABN, Baseline: "v1", Candidates: []string{"v2", "v3"},
			Metrics: []MetricSpec{{Name: "conversion", Type: MetricRatio}},
			Reward:  &Reward{Metric: "conversion"},
		},
		want: ExperimentSpec{
			Kind: KindABN, Baseline: "v1", Candidates: []string{"v2", "v3"},
			Metrics:    []MetricSpec{{Name: "conversion", Type: MetricRatio, OnMissing: "wait"}},
			Reward:     &Reward{Metric: "conversion", Direction: "maximize"},
			Confidence: 0.95,
			Traffic:    TrafficSpec{Strategy: "bandit", MaxCandidatePercent: specRef(100), MaxIncrement: specRef(20)},
			Limits:     Limits{MaxDuration: day, MaxSamples: 1_000_000, MinSamples: 100},
			OnSuccess:  "promote", OnFailure: "rollback",
		},
	}, {
		name: "ab",
		in: ExperimentSpec{
			Kind: KindAB, Baseline: "v1", Candidates: []string{"v2"},
			Metrics: []MetricSpec{{Name: "conversion", Type: MetricRatio}},
			Reward:  &Reward{Metric: "conversion", Direction: "minimize"},
		},
		want: ExperimentSpec{
			Kind: KindAB, Baseline: "v1", Candidates: []string{"v2"},
			Metrics:    []MetricSpec{{Name: "conversion", Type: MetricRatio, OnMissing: "wait"}},
			Reward:     &Reward{Metric: "conversion", Direction: "minimize"},
			Confidence: 0.95,
			Traffic:    TrafficSpec{Strategy: "bandit", MaxCandidatePercent: specRef(100), MaxIncrement: specRef(20)},
			Limits:     Limits{MaxDuration: day, MaxSamples: 1_000_000, MinSamples: 100},
			OnSuccess:  "promote", OnFailure: "rollback",
		},
	}, {
		name: "performance moves no traffic",
		in: ExperimentSpec{
			Kind: KindPerformance, Baseline: "v1",
			Metrics:    []MetricSpec{{Name: "latency", Type: MetricMean}},
			Objectives: []Objective{{Metric: "latency", UpperLimit: specRef(100.0)}},
		},
		want: ExperimentSpec{
			Kind: KindPerformance, Baseline: "v1",
			Metrics:    []MetricSpec{{Name: "latency", Type: MetricMean, OnMissing: "wait"}},
			Objectives: []Objective{{Metric: "latency", UpperLimit: specRef(100.0)}},
			Confidence: 0.95,
			Traffic:    TrafficSpec{Strategy: "fixed"},
			Limits:     Limits{MaxDuration: day, MaxSamples: 1_000_000, MinSamples: 100},
			OnSuccess:  "promote", OnFailure: "rollback",
		},
	}, {
		name: "set values are kept",
		in: ExperimentSpec{
			Kind: KindCanary, Baseline: "v1", Candidates: []string{"v2"},
			Metrics:    []MetricSpec{{Name: "errors", Type: MetricRatio, OnMissing: "fail"}},
			Confidence: 0.99,
			Traffic: TrafficSpec{Strategy: "fixed", InitialCandidatePercent: specRef(0),
				MaxCandidatePercent: specRef(50), MaxIncrement: specRef(5)},
			Limits:    Limits{MaxDuration: &Duration{time.Hour}, MaxSamples: 5000, MinSamples: 7},
			OnSuccess: "keep", OnFailure: "keep",
		},
		want: ExperimentSpec{
			Kind: KindCanary, Baseline: "v1", Candidates: []string{"v2"},
			Metrics:    []MetricSpec{{Name: "errors", Type: MetricRatio, OnMissing: "fail"}},
			Confidence: 0.99,
			Traffic: TrafficSpec{Strategy: "fixed", InitialCandidatePercent: specRef(0),
				MaxCandidatePercent: specRef(50), MaxIncrement: specRef(5)},
			Limits:    Limits{MaxDuration: &Duration{time.Hour}, MaxSamples: 5000, MinSamples: 7},
			OnSuccess: "keep", OnFailure: "keep",
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.Defaulted()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Defaulted() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(got, got.Defaulted()); diff != "" {
				t.Errorf("Defaulted is not idempotent (-once +twice):\n%s", diff)
			}
		})
	}
}

// TestDefaultedConstants pins the documented defaults: docs/experiments.md
// states these numbers, so changing one must fail a test.
func TestDefaultedConstants(t *testing.T) {
	got := []any{DefaultConfidence, DefaultInitialCandidatePercent, DefaultMaxCandidatePercent,
		DefaultMaxIncrement, DefaultMaxDuration, DefaultMaxSamples, DefaultMinSamples,
		MaxVersions, MaxMetrics, MaxObjectives}
	want := []any{0.95, 10, 100, 20, 24 * time.Hour, 1_000_000, 100, 10, 20, 40}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-documented +code):\n%s", diff)
	}
}

func TestDefaultedSharesNoMemory(t *testing.T) {
	in := ExperimentSpec{
		Kind: KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics:    []MetricSpec{{Name: "latency", Type: MetricQuantile, Quantile: 0.9, Buckets: []float64{1, 2}}},
		Objectives: []Objective{{Metric: "latency", UpperLimit: specRef(2.0)}},
		Traffic:    TrafficSpec{MaxIncrement: specRef(5)},
		Limits:     Limits{MaxDuration: &Duration{time.Minute}},
	}
	before, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	d := in.Defaulted()
	d.Candidates[0] = "x"
	d.Metrics[0].Buckets[0] = 99
	*d.Objectives[0].UpperLimit = 99
	*d.Traffic.MaxIncrement = 99
	d.Limits.MaxDuration.Duration = time.Hour
	after, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("writing to Defaulted()'s result changed its input (-before +after):\n%s", diff)
	}
}

func TestVersions(t *testing.T) {
	s := ExperimentSpec{Baseline: "a", Candidates: []string{"b", "c"}}
	if diff := cmp.Diff([]string{"a", "b", "c"}, s.Versions()); diff != "" {
		t.Errorf("Versions() (-want +got):\n%s", diff)
	}
}

// TestDefaultsDocumented checks that docs/experiments.md states each
// default as the code has it, so the reference cannot drift silently.
func TestDefaultsDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/experiments.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, row := range []string{
		fmt.Sprintf("| `confidence` | number | `%v` |", DefaultConfidence),
		fmt.Sprintf("canary: `%d`;", DefaultInitialCandidatePercent),
		fmt.Sprintf("| `maxCandidatePercent` | integer | `%d` |", DefaultMaxCandidatePercent),
		fmt.Sprintf("| `maxIncrement` | integer | `%d` |", DefaultMaxIncrement),
		fmt.Sprintf("| `maxDuration` | duration text (`\"90m\"`, `\"2h\"`) | `%s` |", strings.TrimSuffix(DefaultMaxDuration.String(), "0m0s")),
		fmt.Sprintf("| `maxSamples` | integer | `%d` |", DefaultMaxSamples),
		fmt.Sprintf("| `minSamples` | integer | `%d` |", DefaultMinSamples),
		fmt.Sprintf("| `onSuccess` | string | `%s` |", OnSuccessPromote),
		fmt.Sprintf("| `onFailure` | string | `%s` |", OnFailureRollback),
		fmt.Sprintf("| `direction` | string | `%s` |", DirectionMaximize),
		fmt.Sprintf("| `onMissing` | string | `%s` |", OnMissingWait),
		fmt.Sprintf("`%s` (canary), `%s` (ab, abn), `%s` (performance)", StrategyProgressive, StrategyBandit, StrategyFixed),
		fmt.Sprintf("| `metrics` | list of [metric](#metrics) | required | 1 to %d |", MaxMetrics),
		fmt.Sprintf("abn: 1 to %d;", MaxVersions-1),
		fmt.Sprintf("at most %d;", MaxObjectives),
	} {
		if !strings.Contains(doc, row) {
			t.Errorf("docs/experiments.md does not contain %q", row)
		}
	}
}
