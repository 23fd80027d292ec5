package experiment

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/iter8-knative/iter8/events"
)

func TestControl(t *testing.T) {
	keep := abnSpec()
	keep.OnFailure = events.ActionKeep
	later := t0.Add(10 * time.Minute)
	type want struct {
		Phase     Phase
		Outcome   string
		Winner    string
		Reason    string
		Traffic   map[string]int
		Move      map[string]int
		Emit      []string
		Changed   bool
		PausedFor time.Duration
	}
	tests := []struct {
		name    string
		spec    events.ExperimentSpec
		paused  bool // pause at t0 first
		control events.Control
		want    want
	}{
		{"pause", abnSpec(), false, events.Control{Action: events.ActionPause, Reason: "investigating"},
			want{Phase: PhasePaused, Reason: "paused by request: investigating",
				Traffic: map[string]int{"v1": 34, "v2": 33, "v3": 33}, Changed: true}},
		{"pause when paused changes nothing", abnSpec(), true, events.Control{Action: events.ActionPause},
			want{Phase: PhasePaused, Reason: "paused by request", Traffic: map[string]int{"v1": 34, "v2": 33, "v3": 33}}},
		{"resume", abnSpec(), true, events.Control{Action: events.ActionResume},
			want{Phase: PhaseRunning, Reason: "resumed by request", Traffic: map[string]int{"v1": 34, "v2": 33, "v3": 33},
				Changed: true, PausedFor: 10 * time.Minute}},
		{"resume when running changes nothing", abnSpec(), false, events.Control{Action: events.ActionResume},
			want{Phase: PhaseRunning, Reason: "started", Traffic: map[string]int{"v1": 34, "v2": 33, "v3": 33}}},
		{"abort rolls back", abnSpec(), false, events.Control{Action: events.ActionAbort, Reason: "bad reviews"},
			want{Phase: PhaseCompleted, Outcome: events.OutcomeAborted, Reason: "aborted by request: bad reviews",
				Traffic: map[string]int{"v1": 100, "v2": 0, "v3": 0}, Move: map[string]int{"v1": 100, "v2": 0, "v3": 0},
				Emit: []string{changedT, doneT}, Changed: true}},
		{"abort with onFailure keep", keep, true, events.Control{Action: events.ActionAbort},
			want{Phase: PhaseCompleted, Outcome: events.OutcomeAborted, Reason: "aborted by request",
				Traffic: map[string]int{"v1": 34, "v2": 33, "v3": 33}, Emit: []string{doneT}, Changed: true,
				PausedFor: 10 * time.Minute}},
		{"abort a performance test", perfSpec(), false, events.Control{Action: events.ActionAbort},
			want{Phase: PhaseCompleted, Outcome: events.OutcomeAborted, Reason: "aborted by request",
				Traffic: map[string]int{"v1": 100}, Emit: []string{doneT}, Changed: true}},
		{"promote", abnSpec(), true, events.Control{Action: events.ActionPromote, Version: "v3"},
			want{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v3", Reason: "promoted v3 by request",
				Traffic: map[string]int{"v1": 0, "v2": 0, "v3": 100}, Move: map[string]int{"v1": 0, "v2": 0, "v3": 100},
				Emit: []string{changedT, doneT}, Changed: true, PausedFor: 10 * time.Minute}},
		{"promote the baseline of a canary", canarySpec(), false, events.Control{Action: events.ActionPromote, Version: "v1"},
			want{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v1", Reason: "promoted v1 by request",
				Traffic: map[string]int{"v1": 100, "v2": 0}, Move: map[string]int{"v1": 100, "v2": 0},
				Emit: []string{changedT, doneT}, Changed: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := mustStart(t, tc.spec)
			if tc.paused {
				var err error
				if st, _, err = New().Control(tc.spec, st, events.Control{Action: events.ActionPause}, t0); err != nil {
					t.Fatal(err)
				}
			}
			next, res, err := New().Control(tc.spec, st, tc.control, later)
			if err != nil {
				t.Fatalf("Control: %v", err)
			}
			got := want{Phase: next.Phase, Outcome: next.Outcome, Winner: next.Winner, Reason: next.Reason,
				Traffic: next.Traffic, Move: res.Traffic, Emit: types(res), Changed: res.Changed, PausedFor: next.PausedFor.Duration}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !res.Changed && !cmp.Equal(st, next) {
				t.Errorf("Changed is false but the state changed")
			}
			for _, e := range res.Emit {
				if c, ok := e.Data.(events.Completed); ok {
					wantC := events.Completed{Outcome: tc.want.Outcome, Winner: tc.want.Winner, Reason: tc.want.Reason, Traffic: tc.want.Traffic}
					if diff := cmp.Diff(wantC, c); diff != "" {
						t.Errorf("Completed (-want +got):\n%s", diff)
					}
				}
			}
		})
	}
}

func TestControlRefuses(t *testing.T) {
	running := mustStart(t, abnSpec())
	done, _, err := New().Control(abnSpec(), running, events.Control{Action: events.ActionAbort}, t0)
	if err != nil {
		t.Fatal(err)
	}
	failed, res, err := New().Fail(abnSpec(), running, Failure{Reason: "revision v2 vanished"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if failed.Phase != PhaseFailed || !cmp.Equal(types(res), []string{events.TypeExperimentFailed}) {
		t.Fatalf("Fail = %s, %v", failed.Phase, types(res))
	}
	pending := running.clone()
	pending.Phase = PhasePending
	tests := []struct {
		name    string
		spec    events.ExperimentSpec
		st      State
		control events.Control
		wantErr error
		wantMsg string
	}{
		{"unknown action", abnSpec(), running, events.Control{Action: "restart"}, ErrInvalidControl,
			`experiment "exp-1": invalid control: data.action: unknown action "restart"; want pause, resume, abort or promote`},
		{"unknown version", abnSpec(), running, events.Control{Action: events.ActionPromote, Version: "v9"}, ErrInvalidControl,
			`experiment "exp-1": invalid control: data.version: unknown version "v9"; the experiment's versions are v1, v2, v3`},
		{"promote in performance", perfSpec(), mustStart(t, perfSpec()), events.Control{Action: events.ActionPromote, Version: "v1"}, ErrInvalidControl,
			`experiment "exp-1": invalid control: data.action: a performance experiment has no candidate to promote; use abort`},
		{"completed", abnSpec(), done, events.Control{Action: events.ActionPause}, ErrNotRunning,
			`experiment "exp-1" is Completed: experiment not running`},
		{"failed", abnSpec(), failed, events.Control{Action: events.ActionResume}, ErrNotRunning,
			`experiment "exp-1" is Failed: experiment not running`},
		{"pending", abnSpec(), pending, events.Control{Action: events.ActionAbort}, ErrNotRunning,
			`experiment "exp-1" is Pending: experiment not running`},
		{"another spec", canarySpec(), running, events.Control{Action: events.ActionPause}, ErrStateMismatch,
			`state does not match spec: experiment exp-1 has versions [v1 v2 v3], the spec [v1 v2]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, res, err := New().Control(tc.spec, tc.st, tc.control, t0)
			if !errors.Is(err, tc.wantErr) || err.Error() != tc.wantMsg {
				t.Errorf("Control error = %v\nwant %v: %s", err, tc.wantErr, tc.wantMsg)
			}
			if !cmp.Equal(tc.st, next) || res.Changed || res.Emit != nil {
				t.Errorf("a refused Control changed the state or emitted events")
			}
		})
	}
}
