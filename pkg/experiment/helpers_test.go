package experiment

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ref[T any](v T) *T { return &v }

func canarySpec() events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio},
			{Name: "latency", Type: events.MetricMean, Unit: "ms", Max: ref(1000.0)},
		},
		Objectives: []events.Objective{
			{Metric: "errors", UpperLimit: ref(0.01)},
			{Metric: "latency", UpperLimit: ref(100.0)},
		},
	}
}

func abnSpec() events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindABN, Baseline: "v1", Candidates: []string{"v2", "v3"},
		Metrics: []events.MetricSpec{
			{Name: "conversion", Type: events.MetricRatio},
			{Name: "errors", Type: events.MetricRatio},
		},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: ref(0.01)}},
		Reward:     &events.Reward{Metric: "conversion"},
	}
}

func perfSpec() events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindPerformance, Baseline: "v1",
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio},
			{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95},
		},
		Objectives: []events.Objective{
			{Metric: "errors", UpperLimit: ref(0.01)},
			{Metric: "latency-p95", UpperLimit: ref(150.0)},
		},
	}
}

// window returns the i-th one-minute window after t0, and the time it is
// observed (its end).
func window(i int) (events.Window, time.Time) {
	s := t0.Add(time.Duration(i) * time.Minute)
	e := s.Add(time.Minute)
	return events.Window{Start: events.Time{Time: s}, End: events.Time{Time: e}}, e
}

// ratioObs observes every ratio metric of spec as successes in trials, per
// version, and nothing else.
func ratioObs(spec events.ExperimentSpec, i int, counts map[string][2]int64) (events.MetricsObserved, time.Time) {
	w, now := window(i)
	obs := events.MetricsObserved{Window: w, Versions: map[string]map[string]events.Observation{}}
	for v, c := range counts {
		obs.Versions[v] = map[string]events.Observation{}
		for _, m := range spec.Metrics {
			if m.Type == events.MetricRatio {
				obs.Versions[v][m.Name] = events.Observation{Successes: ref(c[0]), Trials: ref(c[1])}
			}
		}
	}
	return obs, now
}

// av scripts one version of an assessment.
type av struct {
	verdict stats.Verdict
	// objectives overrides the per-objective verdicts (default: all equal
	// to verdict).
	objectives []stats.Verdict
	feasible   float64
	win, top   float64
}

// scripted builds an assessment shaped for spec.
func scripted(spec events.ExperimentSpec, best, leader int, vs ...av) stats.Assessment {
	a := stats.Assessment{Best: best, Leader: leader}
	for i, v := range vs {
		r := stats.VersionResult{
			Metrics: make([]stats.MetricResult, len(spec.Metrics)), Verdict: v.verdict,
			ProbFeasible: v.feasible, ProbWin: v.win, TopTwo: v.top,
			ProbBeatsBaseline: math.NaN(), ExpectedLoss: math.NaN(),
		}
		if i > 0 && spec.Reward != nil {
			r.ProbBeatsBaseline = v.win
		}
		if spec.Reward == nil {
			r.ProbWin, r.TopTwo = math.NaN(), math.NaN()
		}
		for k := range spec.Objectives {
			ov := v.verdict
			if v.objectives != nil {
				ov = v.objectives[k]
			}
			r.ObjectiveVerdicts = append(r.ObjectiveVerdicts, ov)
			r.ObjectiveProbs = append(r.ObjectiveProbs, v.feasible)
		}
		a.Versions = append(a.Versions, r)
	}
	return a
}

// fixed is an assessor that always returns a.
func fixed(a stats.Assessment) Assessor {
	return func(stats.Problem, [][]stats.Data, []bool) (stats.Assessment, error) { return a, nil }
}

func mustStart(t testing.TB, spec events.ExperimentSpec) State {
	t.Helper()
	st, _, err := New().Start(spec, "exp-1", t0)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return st
}

// withTraffic returns st as if the engine had set split.
func withTraffic(st State, split map[string]int) State {
	st = st.clone()
	st.Traffic = split
	return st
}

func types(r Result) []string {
	var out []string
	for _, o := range r.Emit {
		out = append(out, o.Type)
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return string(b)
}
