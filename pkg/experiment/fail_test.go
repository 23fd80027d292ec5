package experiment

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
)

// TestFail checks that every failure returns the split with the state, as
// one: the Service's split (Result.Traffic) always agrees with the state,
// and a performance experiment's traffic is never touched.
func TestFail(t *testing.T) {
	keep := abnSpec()
	keep.OnFailure = "keep"
	abn := mustStart(t, abnSpec()) // 34/33/33
	tests := []struct {
		name        string
		spec        events.ExperimentSpec
		f           Failure
		wantState   map[string]int
		wantService map[string]int // nil: leave the Service's traffic
		wantTypes   []string
	}{
		{"reason only: the split stays", abnSpec(), Failure{Reason: "x"},
			abn.Traffic, nil, []string{events.TypeExperimentFailed}},
		{"onFailure rollback", abnSpec(), Failure{Reason: "x", OnFailure: true},
			map[string]int{"v1": 100, "v2": 0, "v3": 0}, map[string]int{"v1": 100, "v2": 0, "v3": 0},
			[]string{events.TypeTrafficChanged, events.TypeExperimentFailed}},
		{"onFailure keep", keep, Failure{Reason: "x", OnFailure: true},
			abn.Traffic, nil, []string{events.TypeExperimentFailed}},
		{"a candidate gone: the baseline takes all, the Service names the others", keep, Failure{Reason: "x", Gone: []string{"v2"}},
			map[string]int{"v1": 100, "v2": 0, "v3": 0}, map[string]int{"v1": 100, "v3": 0},
			[]string{events.TypeTrafficChanged, events.TypeExperimentFailed}},
		{"the baseline gone: the first that remains", abnSpec(), Failure{Reason: "x", Gone: []string{"v1"}, OnFailure: true},
			map[string]int{"v1": 0, "v2": 100, "v3": 0}, map[string]int{"v2": 100, "v3": 0},
			[]string{events.TypeTrafficChanged, events.TypeExperimentFailed}},
		{"every version gone: the split stays", abnSpec(), Failure{Reason: "x", Gone: []string{"v1", "v2", "v3"}},
			abn.Traffic, nil, []string{events.TypeExperimentFailed}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, res, err := New().Fail(tc.spec, abn, tc.f, t0)
			if err != nil {
				t.Fatal(err)
			}
			if next.Phase != PhaseFailed || next.Reason != "x" {
				t.Errorf("phase %s reason %q, want Failed x", next.Phase, next.Reason)
			}
			if diff := cmp.Diff(tc.wantState, next.Traffic); diff != "" {
				t.Errorf("state traffic (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantService, res.Traffic); diff != "" {
				t.Errorf("Result.Traffic (-want +got):\n%s", diff)
			}
			for v, p := range res.Traffic {
				if next.Traffic[v] != p {
					t.Errorf("Result.Traffic[%s] = %d, the state holds %d", v, p, next.Traffic[v])
				}
			}
			if diff := cmp.Diff(tc.wantTypes, types(res)); diff != "" {
				t.Errorf("emitted (-want +got):\n%s", diff)
			}
			last := next.History.Points[len(next.History.Points)-1]
			if diff := cmp.Diff(next.trafficList(), last.Traffic); diff != "" {
				t.Errorf("the history's last point is not the final split (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("performance never touches traffic", func(t *testing.T) {
		perf := mustStart(t, perfSpec())
		for _, f := range []Failure{{OnFailure: true}, {Gone: []string{"v1"}}} {
			next, res, err := New().Fail(perfSpec(), perf, f, t0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Traffic != nil || !cmp.Equal(next.Traffic, perf.Traffic) {
				t.Errorf("Fail(%+v) of a performance experiment: Result.Traffic %v, state %v; want nil and %v", f, res.Traffic, next.Traffic, perf.Traffic)
			}
		}
	})
}
