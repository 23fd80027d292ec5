package events

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func validStartedSpec() ExperimentSpec {
	return ExperimentSpec{
		Kind:       KindCanary,
		Baseline:   "v1",
		Candidates: []string{"v2"},
		Metrics:    []MetricSpec{{Name: "errors", Type: MetricRatio}},
		Objectives: []Objective{{Metric: "errors", UpperLimit: refOf(0.01)}},
	}.Defaulted()
}

func validAssessed() Assessed {
	return Assessed{
		Service: "checkout", Iteration: 2, Phase: "running", Leader: "v2", Decision: "wait",
		Traffic: map[string]int{"v1": 80, "v2": 20},
		Versions: []VersionAssessment{
			{Version: "v1", Samples: 10, ProbFeasible: 1, Verdict: VerdictSatisfied,
				Metrics: []MetricAssessment{{Metric: "errors", Mean: refOf(0.1), Lower: refOf(0.0), Upper: refOf(0.2), Verdict: VerdictSatisfied}}},
			{Version: "v2", Samples: 10, ProbFeasible: 0.5, ProbBeatsBaseline: refOf(0.5), ProbWin: refOf(0.5), ExpectedLoss: refOf(0.0),
				Verdict: VerdictUndecided, Metrics: []MetricAssessment{}},
		},
	}
}

func TestOutboundValidate(t *testing.T) {
	split := map[string]int{"v1": 90, "v2": 10}
	for _, tc := range []struct {
		name string
		data interface{ Validate() error }
		want []string
	}{
		{"started", Started{Service: "checkout", Spec: validStartedSpec(), Traffic: split}, nil},
		{"started no traffic", Started{Service: "checkout", Spec: validStartedSpec()}, []string{"data.traffic"}},
		{"traffic changed", TrafficChanged{Service: "checkout", Iteration: 1, From: split, To: map[string]int{"v2": 100}}, nil},
		{"traffic over 100", TrafficChanged{Service: "checkout", From: split, To: map[string]int{"v1": 101}}, []string{`data.to["v1"]`}},
		{"traffic not summing", TrafficChanged{Service: "checkout", From: split, To: map[string]int{"v1": 50, "v2": 40}}, []string{"data.to"}},
		{"traffic empty", TrafficChanged{Service: "checkout", From: map[string]int{}, To: split}, []string{"data.from"}},
		{"traffic bad version", TrafficChanged{Service: "checkout", From: split, To: map[string]int{"V1": 100}}, []string{`data.to["V1"]`}},
		{"negative iteration", TrafficChanged{Service: "checkout", Iteration: -1, From: split, To: split}, []string{"data.iteration"}},
		{"bad service", TrafficChanged{Service: "Checkout", From: split, To: split}, []string{"data.service"}},
		{"completed", Completed{Service: "checkout", Outcome: OutcomePromoted, Winner: "v2", Reason: "won", Traffic: map[string]int{"v2": 100}}, nil},
		{"completed rollback", Completed{Service: "checkout", Outcome: OutcomeRolledBack, Reason: "slo", Traffic: map[string]int{"v1": 100}}, nil},
		{"completed no winner", Completed{Service: "checkout", Outcome: OutcomePromoted, Reason: "won", Traffic: split}, []string{"data.winner"}},
		{"completed unknown outcome", Completed{Service: "checkout", Outcome: "won", Reason: "r", Traffic: split}, []string{"data.outcome"}},
		{"completed missing", Completed{}, []string{"data.service", "data.outcome", "data.reason", "data.traffic"}},
		{"failed", Failed{Service: "checkout", Reason: "gone"}, nil},
		{"failed no reason", Failed{Service: "checkout"}, []string{"data.reason"}},
		{"assessed", validAssessed(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.data.Validate()
			if diff := cmp.Diff(tc.want, errPaths(t, err)); diff != "" {
				t.Errorf("paths (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestStartedSpecPaths checks that the spec's own errors appear under
// data.spec, as a consumer of the started event would look for them.
func TestStartedSpecPaths(t *testing.T) {
	spec := validStartedSpec()
	spec.Kind = "bluegreen"
	spec.Metrics[0].Type = "counter"
	err := Started{Service: "checkout", Spec: spec, Traffic: map[string]int{"v1": 100}}.Validate()
	specErr := FieldErrorsOf(spec.Validate())
	if len(specErr) == 0 {
		t.Fatal("the broken spec passes its own validation")
	}
	var want []string
	for _, fe := range specErr {
		want = append(want, "data."+fe.Path)
	}
	if diff := cmp.Diff(want, errPaths(t, err)); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

func TestAssessedValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(a *Assessed)
		want   []string
	}{
		{"valid", func(*Assessed) {}, nil},
		{"probability above 1", func(a *Assessed) { a.Versions[1].ProbWin = refOf(1.5) }, []string{"data.versions[1].probWin"}},
		{"probability NaN", func(a *Assessed) { a.Versions[0].ProbFeasible = math.NaN() }, []string{"data.versions[0].probFeasible"}},
		{"loss Inf", func(a *Assessed) { a.Versions[1].ExpectedLoss = refOf(math.Inf(1)) }, []string{"data.versions[1].expectedLoss"}},
		{"negative samples", func(a *Assessed) { a.Versions[0].Samples = -1 }, []string{"data.versions[0].samples"}},
		{"lower above upper", func(a *Assessed) { a.Versions[0].Metrics[0].Lower = refOf(0.3) }, []string{"data.versions[0].metrics[0].upper"}},
		{"mean NaN", func(a *Assessed) { a.Versions[0].Metrics[0].Mean = refOf(math.NaN()) }, []string{"data.versions[0].metrics[0].mean"}},
		{"unknown verdict", func(a *Assessed) { a.Versions[0].Verdict = "good" }, []string{"data.versions[0].verdict"}},
		{"missing verdict", func(a *Assessed) { a.Versions[0].Verdict = "" }, []string{"data.versions[0].verdict"}},
		{"unknown metric verdict", func(a *Assessed) { a.Versions[0].Metrics[0].Verdict = "ok" }, []string{"data.versions[0].metrics[0].verdict"}},
		{"nil metrics", func(a *Assessed) { a.Versions[1].Metrics = nil }, []string{"data.versions[1].metrics"}},
		{"nil versions", func(a *Assessed) { a.Versions = nil }, []string{"data.versions"}},
		{"bad leader", func(a *Assessed) { a.Leader = "V2" }, []string{"data.leader"}},
		{"no phase nor decision", func(a *Assessed) { a.Phase, a.Decision = "", "" }, []string{"data.phase", "data.decision"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validAssessed()
			tc.change(&a)
			if diff := cmp.Diff(tc.want, errPaths(t, a.Validate())); diff != "" {
				t.Errorf("paths (-want +got):\n%s\nerror: %v", diff, a.Validate())
			}
		})
	}
}
