package experiment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Control applies a human's action to a Running or Paused experiment:
//
//   - pause: freeze traffic; data is still folded in and assessed, nothing
//     is decided, and maxDuration stops running. Pausing a Paused
//     experiment changes nothing.
//   - resume: decide again from the next window on. Resuming a Running
//     experiment changes nothing.
//   - abort: complete with outcome aborted and apply onFailure (rollback:
//     all traffic to the baseline; keep: leave the split).
//   - promote VERSION: complete with outcome promoted and all traffic to
//     VERSION, whatever onSuccess says and whatever the evidence: the
//     human has decided. Performance experiments have nothing to promote.
//
// Control.Reason is appended to State.Reason. A Completed or Failed
// experiment refuses with ErrNotRunning; an unknown action or version with
// ErrInvalidControl.
func (e Engine) Control(spec events.ExperimentSpec, st State, c events.Control, now time.Time) (State, Result, error) {
	spec, err := prepare(spec, st)
	if err != nil {
		return st, Result{}, err
	}
	now = instant(now)
	why := func(what string) string {
		if c.Reason == "" {
			return what + " by request"
		}
		return what + " by request: " + c.Reason
	}
	refuse := func(path, format string, args ...any) (State, Result, error) {
		var errs events.FieldErrors
		errs.Add(path, format, args...)
		return st, Result{}, fmt.Errorf("experiment %q: %w: %w", st.ID, ErrInvalidControl, errs.Err())
	}
	next := st.clone()
	next.Updated = events.Time{Time: now}
	switch c.Action {
	case events.ActionPause:
		if st.Phase == PhasePaused {
			return st, Result{}, nil
		}
		next.Phase, next.Reason, next.Since = PhasePaused, why("paused"), events.Time{Time: now}
		return next, Result{Changed: true}, nil
	case events.ActionResume:
		if st.Phase == PhaseRunning {
			return st, Result{}, nil
		}
		next.unpause(now)
		next.Phase, next.Reason = PhaseRunning, why("resumed")
		return next, Result{Changed: true}, nil
	case events.ActionAbort:
		next.unpause(now)
		return finish(spec, next, failure(spec, next, events.OutcomeAborted, why("aborted")), now, nil, nil)
	case events.ActionPromote:
		if spec.Kind == events.KindPerformance {
			return refuse(events.Field(dataPath, "action"), "a performance experiment has no candidate to promote; use abort")
		}
		i := slices.Index(st.Versions, c.Version)
		if i < 0 {
			return refuse(events.Field(dataPath, "version"), "unknown version %q; the experiment's versions are %s",
				c.Version, strings.Join(st.Versions, ", "))
		}
		next.unpause(now)
		d := decision{done: true, outcome: events.OutcomePromoted, winner: c.Version,
			reason: why("promoted " + c.Version), traffic: all(len(st.Versions), i)}
		return finish(spec, next, d, now, nil, nil)
	}
	return refuse(events.Field(dataPath, "action"), "unknown action %q; want pause, resume, abort or promote", c.Action)
}

// unpause closes a pause, so that PausedFor holds all paused time.
func (s *State) unpause(now time.Time) {
	if s.Phase == PhasePaused {
		s.PausedFor.Duration += now.Sub(s.Since.Time)
		s.Since = events.Time{Time: now}
	}
}

// finish applies d to next (already advanced to this call's iteration and
// time) and lists the events to emit: Assessed when a is set, then
// TrafficChanged when the split moves, then Completed when d ends the
// experiment.
func finish(spec events.ExperimentSpec, next State, d decision, now time.Time, a *stats.Assessment, samples []float64) (State, Result, error) {
	res := Result{Assessment: a, Changed: true}
	from := next.trafficList()
	moved := d.traffic != nil && from != nil && !slices.Equal(d.traffic, from)
	if moved {
		next.Traffic = trafficMap(next.Versions, d.traffic)
		res.Traffic = trafficMap(next.Versions, d.traffic)
	}
	if d.done {
		next.Phase, next.Outcome, next.Winner, next.Reason = PhaseCompleted, d.outcome, d.winner, d.reason
		next.Since = events.Time{Time: now}
	}
	p := Point{Iteration: next.Iteration, Time: now.Unix(), Traffic: next.trafficList()}
	if a != nil && next.Last != nil {
		p.Prob = slices.Clone(next.Last.Prob)
	}
	next.History.record(p, d.done)
	if a != nil {
		res.Emit = append(res.Emit, Outbound{events.TypeExperimentAssessed, assessed(spec, next, *a, samples, d.reason)})
	}
	if moved {
		res.Emit = append(res.Emit, Outbound{events.TypeTrafficChanged, events.TrafficChanged{
			Iteration: next.Iteration, From: trafficMap(next.Versions, from),
			To: trafficMap(next.Versions, d.traffic), Reason: d.reason,
		}})
	}
	if d.done {
		res.Emit = append(res.Emit, Outbound{events.TypeExperimentCompleted, events.Completed{
			Outcome: d.outcome, Winner: d.winner, Reason: d.reason, Iteration: next.Iteration,
			Traffic: trafficMap(next.Versions, next.trafficList()),
		}})
	}
	return next, res, nil
}
