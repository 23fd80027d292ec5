package events

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func validCanary() ExperimentSpec {
	return ExperimentSpec{
		Kind: KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics: []MetricSpec{
			{Name: "errors", Type: MetricRatio},
			{Name: "latency", Type: MetricMean, Unit: "ms"},
		},
		Objectives: []Objective{
			{Metric: "errors", UpperLimit: specRef(0.01)},
			{Metric: "latency", UpperLimitRelative: specRef(1.2)},
		},
	}
}

func validABN() ExperimentSpec {
	return ExperimentSpec{
		Kind: KindABN, Baseline: "v1", Candidates: []string{"v2", "v3"},
		Metrics: []MetricSpec{
			{Name: "conversion", Type: MetricRatio},
			{Name: "errors", Type: MetricRatio},
			{Name: "latency-p95", Type: MetricQuantile, Quantile: 0.95, Buckets: []float64{10, 50, 100}},
		},
		Objectives: []Objective{{Metric: "errors", UpperLimit: specRef(0.01)}},
		Reward:     &Reward{Metric: "conversion"},
	}
}

func validPerformance() ExperimentSpec {
	return ExperimentSpec{
		Kind: KindPerformance, Baseline: "v1",
		Metrics:    []MetricSpec{{Name: "latency", Type: MetricMean}},
		Objectives: []Objective{{Metric: "latency", UpperLimit: specRef(100.0)}},
	}
}

func TestValidateAcceptsValidSpecs(t *testing.T) {
	ab := validABN()
	ab.Kind, ab.Candidates = KindAB, []string{"v2"}
	abn1 := validABN()
	abn1.Candidates = []string{"v2"}
	fixed := validABN()
	fixed.Traffic = TrafficSpec{Strategy: StrategyFixed, InitialCandidatePercent: specRef(60), MaxCandidatePercent: specRef(30)}
	full := validCanary()
	full.Confidence = 0.99
	full.Traffic = TrafficSpec{Strategy: StrategyFixed, InitialCandidatePercent: specRef(100)}
	full.Limits = Limits{MaxDuration: &Duration{time.Hour}, MaxSamples: 100, MinSamples: 100}
	full.OnSuccess, full.OnFailure = ActionKeep, ActionKeep
	full.Metrics[1].Query = `sum(rate(x{revision="{{.Revision}}"}[{{.Window}}]))`
	band := validCanary()
	band.Objectives = []Objective{
		{Metric: "latency", LowerLimit: specRef(10.0)},
		{Metric: "latency", UpperLimit: specRef(10.0)},
	}
	for name, s := range map[string]ExperimentSpec{
		"canary": validCanary(), "abn": validABN(), "ab": ab, "abn with one candidate": abn1,
		"performance": validPerformance(), "fixed abn": fixed, "every field set": full,
		"equal lower and upper limits": band,
	} {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if err := s.Defaulted().Validate(); err != nil {
				t.Errorf("Defaulted().Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		base   func() ExperimentSpec
		mutate func(*ExperimentSpec)
		want   []string
	}{
		{"unknown kind", validCanary, func(s *ExperimentSpec) { s.Kind = "blue-green" },
			[]string{`spec.kind: unknown kind "blue-green"; want canary, ab, abn or performance`}},
		{"missing kind", validCanary, func(s *ExperimentSpec) { s.Kind = "" },
			[]string{`spec.kind: required: one of canary, ab, abn, performance`}},
		{"missing baseline", validCanary, func(s *ExperimentSpec) { s.Baseline = "" },
			[]string{`spec.baseline: required: a revision name`}},
		{"bad version name", validCanary, func(s *ExperimentSpec) { s.Candidates = []string{"V_2"} },
			[]string{`spec.candidates[0]: "V_2" is not a revision name (lowercase letters, digits and '-', at most 63 characters)`}},
		{"too long version name", validCanary, func(s *ExperimentSpec) { s.Baseline = strings.Repeat("a", 64) },
			[]string{`spec.baseline: "` + strings.Repeat("a", 64) + `" is not a revision name (lowercase letters, digits and '-', at most 63 characters)`}},
		{"canary with two candidates", validCanary, func(s *ExperimentSpec) { s.Candidates = []string{"v2", "v3"} },
			[]string{`spec.candidates: canary takes exactly one candidate, got 2`}},
		{"ab with two candidates", validABN, func(s *ExperimentSpec) { s.Kind = KindAB },
			[]string{`spec.candidates: ab takes exactly one candidate, got 2`}},
		{"abn without candidates", validABN, func(s *ExperimentSpec) { s.Candidates = nil },
			[]string{`spec.candidates: abn takes at least one candidate, got 0`}},
		{"abn with too many versions", validABN, func(s *ExperimentSpec) {
			s.Candidates = nil
			for i := 2; i <= 11; i++ {
				s.Candidates = append(s.Candidates, fmt.Sprintf("v%d", i))
			}
		}, []string{`spec.candidates: at most 9 candidates (10 versions with the baseline), got 10`}},
		{"performance with a candidate", validPerformance, func(s *ExperimentSpec) { s.Candidates = []string{"v2"} },
			[]string{`spec.candidates: performance takes no candidates, got 1`}},
		{"candidate is the baseline", validCanary, func(s *ExperimentSpec) { s.Candidates = []string{"v1"} },
			[]string{`spec.candidates[0]: duplicate version "v1", already at spec.baseline`}},
		{"duplicate candidates", validABN, func(s *ExperimentSpec) { s.Candidates = []string{"v2", "v2"} },
			[]string{`spec.candidates[1]: duplicate version "v2", already at spec.candidates[0]`}},
		{"no metrics", validCanary, func(s *ExperimentSpec) { s.Metrics, s.Objectives = nil, nil }, []string{
			`spec.metrics: at least one metric is required`,
			`spec.objectives: canary experiments need at least one objective: they decide on objectives alone`,
		}},
		{"too many metrics", validPerformance, func(s *ExperimentSpec) {
			for i := range 20 {
				s.Metrics = append(s.Metrics, MetricSpec{Name: fmt.Sprintf("m%d", i), Type: MetricMean})
			}
		}, []string{`spec.metrics: at most 20 metrics, got 21`}},
		{"duplicate metric", validCanary, func(s *ExperimentSpec) { s.Metrics[1].Name = "errors"; s.Metrics[1].Type = MetricRatio },
			[]string{`spec.metrics[1].name: duplicate metric "errors"`, `spec.objectives[1].metric: unknown metric "latency"`}},
		{"metric name not a label", validCanary, func(s *ExperimentSpec) { s.Metrics[0].Name = "Errors" }, []string{
			`spec.metrics[0].name: "Errors" must be lowercase letters, digits and '-', at most 63 characters`,
			`spec.objectives[0].metric: unknown metric "errors"`,
		}},
		{"missing metric name and type", validPerformance, func(s *ExperimentSpec) { s.Metrics = append(s.Metrics, MetricSpec{}) },
			[]string{`spec.metrics[1].name: required`, `spec.metrics[1].type: required: one of ratio, mean, quantile`}},
		{"unknown metric type", validCanary, func(s *ExperimentSpec) { s.Metrics[1].Type = "histogram" },
			[]string{`spec.metrics[1].type: unknown metric type "histogram"; want ratio, mean or quantile`}},
		{"quantile without quantile", validABN, func(s *ExperimentSpec) { s.Metrics[2].Quantile = 0 },
			[]string{`spec.metrics[2].quantile: must be in (0, 1), got 0`}},
		{"quantile of 1", validABN, func(s *ExperimentSpec) { s.Metrics[2].Quantile = 1 },
			[]string{`spec.metrics[2].quantile: must be in (0, 1), got 1`}},
		{"quantile on a mean", validCanary, func(s *ExperimentSpec) { s.Metrics[1].Quantile = 0.5 },
			[]string{`spec.metrics[1].quantile: only a quantile metric takes a quantile; "latency" is mean`}},
		{"max on a ratio", validCanary, func(s *ExperimentSpec) { s.Metrics[0].Max = specRef(1.0) },
			[]string{`spec.metrics[0]: only a mean metric takes min and max; "errors" is a ratio`}},
		{"min on a quantile", validABN, func(s *ExperimentSpec) { s.Metrics[2].Min = specRef(1.0) },
			[]string{`spec.metrics[2]: only a mean metric takes min and max; "latency-p95" is a quantile`}},
		{"max not above min", validCanary, func(s *ExperimentSpec) { s.Metrics[1].Min, s.Metrics[1].Max = specRef(5.0), specRef(5.0) },
			[]string{`spec.metrics[1].max: must be above min 5, got 5: every value of "latency" lies in [min, max]`}},
		{"min above the default max", validCanary, func(s *ExperimentSpec) { s.Metrics[1].Min = specRef(4e5) },
			[]string{`spec.metrics[1].max: must be above min 400000, got 300000: every value of "latency" lies in [min, max]`}},
		{"infinite max", validCanary, func(s *ExperimentSpec) { s.Metrics[1].Max = specRef(math.Inf(1)) },
			[]string{`spec.metrics[1].max: must be finite, got +Inf`}},
		{"buckets on a ratio", validCanary, func(s *ExperimentSpec) { s.Metrics[0].Buckets = []float64{1} },
			[]string{`spec.metrics[0].buckets: only a quantile metric takes buckets; "errors" is ratio`}},
		{"buckets not increasing", validABN, func(s *ExperimentSpec) { s.Metrics[2].Buckets = []float64{10, 10, 5} }, []string{
			`spec.metrics[2].buckets[1]: buckets must be strictly increasing, got 10 after 10`,
			`spec.metrics[2].buckets[2]: buckets must be strictly increasing, got 5 after 10`,
		}},
		{"bad onMissing", validCanary, func(s *ExperimentSpec) { s.Metrics[0].OnMissing = "skip" },
			[]string{`spec.metrics[0].onMissing: must be "wait" or "fail", got "skip"`}},
		{"bad query template", validCanary, func(s *ExperimentSpec) { s.Metrics[0].Query = "{{.Revision" },
			[]string{`spec.metrics[0].query: not a valid template: template: errors:1: unclosed action`}},
		{"objective on unknown metric", validCanary, func(s *ExperimentSpec) { s.Objectives[0].Metric = "x" },
			[]string{`spec.objectives[0].metric: unknown metric "x"`}},
		{"objective without metric", validCanary, func(s *ExperimentSpec) { s.Objectives[0].Metric = "" },
			[]string{`spec.objectives[0].metric: required`}},
		{"objective with two limits", validCanary, func(s *ExperimentSpec) { s.Objectives[0].LowerLimit = specRef(0.0) },
			[]string{`spec.objectives[0]: must set exactly one of upperLimit, lowerLimit, upperLimitRelative, lowerLimitRelative; got 2`}},
		{"objective without limit", validCanary, func(s *ExperimentSpec) { s.Objectives[0].UpperLimit = nil },
			[]string{`spec.objectives[0]: must set exactly one of upperLimit, lowerLimit, upperLimitRelative, lowerLimitRelative; got 0`}},
		{"relative limit not positive", validCanary, func(s *ExperimentSpec) { s.Objectives[1].UpperLimitRelative = specRef(0.0) },
			[]string{`spec.objectives[1].upperLimitRelative: a multiple of the baseline must be > 0, got 0`}},
		{"relative limit in performance", validPerformance, func(s *ExperimentSpec) {
			s.Objectives[0] = Objective{Metric: "latency", LowerLimitRelative: specRef(0.9)}
		}, []string{`spec.objectives[0].lowerLimitRelative: a performance experiment has no baseline to compare with; use lowerLimit`}},
		{"ratio limit above 1", validCanary, func(s *ExperimentSpec) { s.Objectives[0].UpperLimit = specRef(5.0) },
			[]string{`spec.objectives[0].upperLimit: "errors" is a ratio, so its limit must be in [0, 1], got 5`}},
		{"infinite limit", validPerformance, func(s *ExperimentSpec) { s.Objectives[0].UpperLimit = specRef(math.Inf(1)) },
			[]string{`spec.objectives[0].upperLimit: must be finite, got +Inf`}},
		{"lower limit above upper limit", validPerformance, func(s *ExperimentSpec) {
			s.Objectives = append(s.Objectives, Objective{Metric: "latency", LowerLimit: specRef(200.0)})
		}, []string{`spec.objectives[1].lowerLimit: 200 is above the upper limit 100 at spec.objectives[0].upperLimit: no version can meet both`}},
		{"too many objectives", validPerformance, func(s *ExperimentSpec) {
			for range 40 {
				s.Objectives = append(s.Objectives, Objective{Metric: "latency", UpperLimit: specRef(100.0)})
			}
		}, []string{`spec.objectives: at most 40 objectives, got 41`}},
		{"performance without objectives", validPerformance, func(s *ExperimentSpec) { s.Objectives = nil },
			[]string{`spec.objectives: performance experiments need at least one objective: they decide on objectives alone`}},
		{"abn without reward", validABN, func(s *ExperimentSpec) { s.Reward = nil },
			[]string{`spec.reward: required for abn experiments: the metric that decides the winner`}},
		{"reward on unknown metric", validABN, func(s *ExperimentSpec) { s.Reward.Metric = "x" },
			[]string{`spec.reward.metric: unknown metric "x"`}},
		{"reward direction", validABN, func(s *ExperimentSpec) { s.Reward.Direction = "up" },
			[]string{`spec.reward.direction: must be "maximize" or "minimize", got "up"`}},
		{"canary with reward", validCanary, func(s *ExperimentSpec) { s.Reward = &Reward{Metric: "latency"} },
			[]string{`spec.reward: canary experiments have no reward; express requirements as objectives`}},
		{"confidence too high", validCanary, func(s *ExperimentSpec) { s.Confidence = 1.2 },
			[]string{`spec.confidence: must be in (0.5, 1), got 1.2`}},
		{"confidence too low", validCanary, func(s *ExperimentSpec) { s.Confidence = 0.5 },
			[]string{`spec.confidence: must be in (0.5, 1), got 0.5`}},
		{"unknown strategy", validCanary, func(s *ExperimentSpec) { s.Traffic.Strategy = "random" },
			[]string{`spec.traffic.strategy: unknown strategy "random"; want bandit, earn, progressive or fixed`}},
		{"bandit canary", validCanary, func(s *ExperimentSpec) { s.Traffic.Strategy = StrategyBandit },
			[]string{`spec.traffic.strategy: canary experiments take progressive or fixed, got "bandit"`}},
		{"progressive abn", validABN, func(s *ExperimentSpec) { s.Traffic.Strategy = StrategyProgressive },
			[]string{`spec.traffic.strategy: abn experiments take bandit or earn or fixed, got "progressive"`}},
		{"bandit performance", validPerformance, func(s *ExperimentSpec) { s.Traffic.Strategy = StrategyBandit },
			[]string{`spec.traffic.strategy: performance experiments take fixed, got "bandit"`}},
		{"performance traffic", validPerformance, func(s *ExperimentSpec) {
			s.Traffic = TrafficSpec{InitialCandidatePercent: specRef(10), MaxIncrement: specRef(5)}
		}, []string{
			`spec.traffic.initialCandidatePercent: performance experiments never move traffic`,
			`spec.traffic.maxIncrement: performance experiments never move traffic`,
		}},
		{"canary initial 0", validCanary, func(s *ExperimentSpec) { s.Traffic.InitialCandidatePercent = specRef(0) },
			[]string{`spec.traffic.initialCandidatePercent: must be in [1, 100], got 0`}},
		{"abn initial 100", validABN, func(s *ExperimentSpec) { s.Traffic.InitialCandidatePercent = specRef(100) },
			[]string{`spec.traffic.initialCandidatePercent: must be in [1, 99], got 100`}},
		{"max above 100", validCanary, func(s *ExperimentSpec) { s.Traffic.MaxCandidatePercent = specRef(101) },
			[]string{`spec.traffic.maxCandidatePercent: must be in [1, 100], got 101`}},
		{"initial above max", validCanary, func(s *ExperimentSpec) {
			s.Traffic.InitialCandidatePercent, s.Traffic.MaxCandidatePercent = specRef(40), specRef(30)
		}, []string{`spec.traffic.initialCandidatePercent: gives a candidate 40%, above maxCandidatePercent 30`}},
		{"abn initial share above max", validABN, func(s *ExperimentSpec) {
			s.Traffic.InitialCandidatePercent, s.Traffic.MaxCandidatePercent = specRef(61), specRef(30)
		}, []string{`spec.traffic.initialCandidatePercent: gives a candidate 31%, above maxCandidatePercent 30`}},
		{"abn equal split above max", validABN, func(s *ExperimentSpec) { s.Traffic.MaxCandidatePercent = specRef(30) },
			[]string{`spec.traffic.maxCandidatePercent: 30 is below the initial equal split of 34% per version; set initialCandidatePercent`}},
		{"max increment 0", validCanary, func(s *ExperimentSpec) { s.Traffic.MaxIncrement = specRef(0) },
			[]string{`spec.traffic.maxIncrement: must be in [1, 100], got 0`}},
		{"negative duration", validCanary, func(s *ExperimentSpec) { s.Limits.MaxDuration = &Duration{-time.Minute} },
			[]string{`spec.limits.maxDuration: must be > 0, got -1m0s`}},
		{"negative samples", validCanary, func(s *ExperimentSpec) { s.Limits.MaxSamples, s.Limits.MinSamples = -1, -2 },
			[]string{`spec.limits.maxSamples: must be >= 1, got -1`, `spec.limits.minSamples: must be >= 1, got -2`}},
		{"min above max", validCanary, func(s *ExperimentSpec) { s.Limits.MaxSamples, s.Limits.MinSamples = 10, 20 },
			[]string{`spec.limits.maxSamples: 10 samples cannot give each of 1 versions minSamples 20: no decision could ever be made`}},
		{"min times versions above max", validABN, func(s *ExperimentSpec) { s.Limits.MaxSamples, s.Limits.MinSamples = 299, 100 },
			[]string{`spec.limits.maxSamples: 299 samples cannot give each of 3 versions minSamples 100: no decision could ever be made`}},
		{"bad onSuccess and onFailure", validCanary, func(s *ExperimentSpec) { s.OnSuccess, s.OnFailure = "rollback", "promote" }, []string{
			`spec.onSuccess: must be "promote" or "keep", got "rollback"`,
			`spec.onFailure: must be "rollback" or "keep", got "promote"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.base()
			tc.mutate(&s)
			err := s.Validate()
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want FieldErrors", err)
			}
			got := make([]string, len(fe))
			for i, e := range fe {
				got[i] = e.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidateIsStable guards the promise that messages come in one order:
// several contradictions at once must always read the same.
func TestValidateIsStable(t *testing.T) {
	s := validABN()
	s.Objectives = append(s.Objectives,
		Objective{Metric: "latency-p95", LowerLimit: specRef(50.0)},
		Objective{Metric: "latency-p95", UpperLimit: specRef(10.0)},
		Objective{Metric: "errors", LowerLimit: specRef(0.5)},
	)
	first := s.Validate().Error()
	for range 20 {
		if got := s.Validate().Error(); got != first {
			t.Fatalf("Validate() changed between calls:\n%s\n%s", first, got)
		}
	}
	if n := strings.Count(first, "no version can meet both"); n != 2 {
		t.Errorf("want 2 contradictions in %q, got %d", first, n)
	}
}
