package experiment

import (
	"slices"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// Failure is why an experiment cannot go on, for a reason outside its
// statistics: a metric without data whose onMissing is fail, a revision
// that vanished, a state that outgrew its annotation budget.
type Failure struct {
	// Reason says why, for people; "failed" when empty.
	Reason string
	// OnFailure applies the spec's onFailure to the split: with rollback,
	// all traffic goes to the baseline; with keep, or without OnFailure,
	// the split stays as it is.
	OnFailure bool
	// Gone lists versions whose revisions no longer exist. Whatever
	// OnFailure says, all traffic then goes to the first version that
	// remains, the baseline when it does, and Result.Traffic names only the
	// versions that remain: a target naming a missing revision would keep
	// the Route broken. When none remains, the split stays as it is.
	Gone []string
}

// Fail ends a Running or Paused experiment as Failed for f, and returns
// the split that goes with it. A performance experiment's traffic is never
// touched. It emits events.TrafficChanged when the split moves, then
// events.Failed.
func (e Engine) Fail(spec events.ExperimentSpec, st State, f Failure, now time.Time) (State, Result, error) {
	spec, err := prepare(spec, st)
	if err != nil {
		return st, Result{}, err
	}
	now = instant(now)
	if f.Reason == "" {
		f.Reason = "failed"
	}
	next := st.clone()
	next.Phase, next.Reason = PhaseFailed, f.Reason
	next.Updated, next.Since = events.Time{Time: now}, events.Time{Time: now}
	res := Result{Changed: true}
	from := st.trafficList()
	if to := failedSplit(spec, st, f); to != nil && !slices.Equal(to, from) {
		next.Traffic = trafficMap(next.Versions, to)
		res.Traffic = make(map[string]int, len(next.Versions))
		for i, v := range next.Versions {
			if !slices.Contains(f.Gone, v) {
				res.Traffic[v] = to[i]
			}
		}
		res.Emit = append(res.Emit, Outbound{events.TypeTrafficChanged, events.TrafficChanged{
			Iteration: next.Iteration, From: trafficMap(next.Versions, from),
			To: trafficMap(next.Versions, to), Reason: f.Reason,
		}})
	}
	next.History.record(Point{Iteration: next.Iteration, Time: now.Unix(), Traffic: next.trafficList()}, true)
	res.Emit = append(res.Emit, Outbound{events.TypeExperimentFailed, events.Failed{Reason: f.Reason}})
	return next, res, nil
}

// failedSplit is the split a failure leaves by version index; nil keeps
// the current one.
func failedSplit(spec events.ExperimentSpec, st State, f Failure) []int {
	if spec.Kind == events.KindPerformance {
		return nil
	}
	if len(f.Gone) > 0 {
		for i, v := range st.Versions {
			if !slices.Contains(f.Gone, v) {
				return all(len(st.Versions), i)
			}
		}
		return nil
	}
	if f.OnFailure {
		return failure(spec, st, "", "").traffic
	}
	return nil
}
