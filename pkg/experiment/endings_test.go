package experiment

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// latencyCanary is a canary on a p95 whose limit, 120 ms, lies inside the
// histogram bucket (100, 150] of latencyBounds.
func latencyCanary() events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics:    []events.MetricSpec{{Name: "latency", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms"}},
		Objectives: []events.Objective{{Metric: "latency", UpperLimit: ref(120.0)}},
	}
}

// p95 is the lognormal latency with median m whose 95th percentile is p.
func p95(m, p float64) draw { return lognormal(math.Log(m), math.Log(p/m)/1.6448536) }

// TestCanaryLimitInsideBucket: a limit inside a bucket can only be decided
// when the truth lies beyond the bucket; when the candidate's p95 is shown
// to lie in the limit's bucket, the canary ends at once with a rollback
// that says why, instead of holding traffic until maxDuration.
func TestCanaryLimitInsideBucket(t *testing.T) {
	good := map[string]draw{"latency": p95(40, 60)}
	cases := []struct {
		name      string
		candidate map[string]draw
		outcome   string
		reason    string
	}{
		{"truth 60 ms, clearly below the bucket: promoted", good, events.OutcomePromoted, "meets every objective"},
		{"truth 140 ms, above the limit inside its bucket: rolled back", map[string]draw{"latency": p95(80, 140)}, events.OutcomeRolledBack, "histogram cannot show it"},
		{"truth 250 ms, beyond the bucket: rolled back as violating", map[string]draw{"latency": p95(110, 250)}, events.OutcomeRolledBack, "violates"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _ := run(t, latencyCanary(), map[string]map[string]draw{"v1": good, "v2": c.candidate}, 500, 1000, uint64(40+i), false)
			if st.Outcome != c.outcome || !strings.Contains(st.Reason, c.reason) {
				t.Fatalf("outcome %q (%s), want %q with %q", st.Outcome, st.Reason, c.outcome, c.reason)
			}
			t.Logf("%d windows: %s", st.Iteration, st.Reason)
			if st.Outcome == events.OutcomeRolledBack && st.Traffic["v1"] != 100 {
				t.Errorf("traffic %v after a rollback, want all on v1", st.Traffic)
			}
			// A week of one-minute windows is 10,080; the bucket rule ends
			// it in far fewer.
			if st.Iteration >= 1000 {
				t.Errorf("ran %d windows: it did not end on its evidence", st.Iteration)
			}
		})
	}
}

// TestEveryExperimentEnds: at maxDuration each kind ends with the outcome it
// owes when nothing was shown.
func TestEveryExperimentEnds(t *testing.T) {
	flat := map[string]draw{"latency": p95(80, 110)} // inside (100, 150], below the limit
	limited := func(s events.ExperimentSpec) events.ExperimentSpec {
		s.Limits.MaxDuration = &events.Duration{Duration: 5 * time.Minute}
		return s
	}
	canary := limited(latencyCanary())
	perf := limited(events.ExperimentSpec{
		Kind: events.KindPerformance, Baseline: "v1",
		Metrics:    []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: ref(0.0101)}},
	})
	ab := limited(events.ExperimentSpec{
		Kind: events.KindAB, Baseline: "v1", Candidates: []string{"v2"},
		Metrics: []events.MetricSpec{{Name: "conversion", Type: events.MetricRatio}},
		Reward:  &events.Reward{Metric: "conversion"},
	})
	cases := []struct {
		name    string
		spec    events.ExperimentSpec
		truth   map[string]map[string]draw
		outcome string
		reason  string
	}{
		{"canary", canary, map[string]map[string]draw{"v1": flat, "v2": flat}, events.OutcomeRolledBack, "not shown satisfied"},
		{"performance", perf, map[string]map[string]draw{"v1": {"errors": bernoulli(0.01)}}, events.OutcomeFailedSLO, "not shown satisfied"},
		{"ab", ab, map[string]map[string]draw{"v1": {"conversion": bernoulli(0.1)}, "v2": {"conversion": bernoulli(0.1)}}, events.OutcomeInconclusive, "keeping the baseline"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _ := run(t, c.spec, c.truth, 50, 100, uint64(60+i), false)
			if st.Phase == PhaseRunning || st.Outcome != c.outcome || !strings.Contains(st.Reason, c.reason) {
				t.Fatalf("phase %s outcome %q (%s), want %q with %q", st.Phase, st.Outcome, st.Reason, c.outcome, c.reason)
			}
			if c.spec.Kind != events.KindPerformance && st.Traffic["v1"] != 100 {
				t.Errorf("traffic %v, want the baseline kept", st.Traffic)
			}
		})
	}
}
