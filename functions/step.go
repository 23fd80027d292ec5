package functions

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// An op is what one event asks of the engine: from the spec and state read
// from the Service, the next state and the Result that goes with it (the
// split to write, the events to emit). Ops call the engine and do no
// traffic arithmetic of their own.
type op func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error)

// stepped is what a step did: the engine's result, and the CloudEvents it
// emits, built once in the write that records them in the Service's events
// log (store.LogSize), so that the ids sent are the ids recorded.
type stepped struct {
	experiment.Result
	events []cloudevents.Event
}

// A read picks, from a Service's record, the spec and state an op works
// on, or refuses the event.
type read func(r store.Record) (events.ExperimentSpec, experiment.State, error)

// step is the one path from an event to a Service, which every handler and
// the tick take, as Knative's reconcilers do with Rollout.Step: read the
// experiment (read), ask the engine for the next state and split (op), and
// write both in one update that also records key, so that a redelivery is
// a duplicate; or map the error once. An op that changes nothing writes
// nothing unless key must be recorded. A state over the annotation budget
// ends the experiment (see outgrown).
func (h *Handlers) step(ctx context.Context, ns, name, key string, rd read, o op) (store.Result, stepped, error) {
	return h.stepFrom(ctx, ns, name, nil, key, rd, o)
}

// stepFrom is step starting from a record of the Service just listed or
// written, when from is set: the tick's one write per experiment then
// takes no read of its own (see store.UpdateFrom).
func (h *Handlers) stepFrom(ctx context.Context, ns, name string, from *store.Record, key string, rd read, o op) (store.Result, stepped, error) {
	res, out, err := h.write(ctx, ns, name, from, key, rd, o)
	var over *store.BudgetError
	if errors.As(err, &over) {
		return h.outgrown(ctx, ns, name, o, err, over)
	}
	return res, out, err
}

// write is step without the budget's rescue.
func (h *Handlers) write(ctx context.Context, ns, name string, from *store.Record, key string, rd read, o op) (store.Result, stepped, error) {
	var out stepped
	at := h.now()
	update := func(m store.Mutation) (store.Result, error) { return h.store.Update(ctx, ns, name, key, m) }
	if from != nil && from.Service != nil {
		update = func(m store.Mutation) (store.Result, error) { return h.store.UpdateFrom(ctx, *from, key, m) }
	}
	res, err := update(func(r store.Record) (*store.Change, error) {
		out = stepped{}
		if err := optedIn(r); err != nil {
			return nil, err
		}
		spec, st, err := rd(r)
		if err != nil {
			return nil, err
		}
		next, result, err := o(spec, st)
		if err != nil {
			return nil, engineError(r.Name(), err)
		}
		if !result.Changed && key == "" {
			return nil, nil
		}
		if err := agrees(result.Traffic, next.Traffic); err != nil {
			return nil, fmt.Errorf("service %s: %w", r.Name(), err)
		}
		out.Result = result.WithService(r.Service.Name)
		ch := &store.Change{State: next, Traffic: out.Traffic, Status: experiment.Summary(spec, next)}
		out.events, ch.Emitted = h.outbound(ctx, ns, name, out.Result, at)
		if r.State == nil || r.State.ID != next.ID {
			ch.Spec = &spec // a new experiment
		}
		for _, e := range out.Emit {
			if a, ok := e.Data.(events.Assessed); ok {
				ch.Assessment = &a
			}
		}
		return ch, nil
	})
	if err != nil {
		out.events = nil // nothing was written, so nothing is sent
	}
	return res, out, err
}

// outgrown handles an event whose result would not fit the annotation
// budget. When the event would not fit even a fresh start of the
// experiment, the event is at fault: it is refused and the experiment goes
// on. Otherwise the experiment has outgrown its budget, and every later
// window would be refused the same way: it fails, in a write of the state
// it had (which fit), and its traffic goes as onFailure says.
func (h *Handlers) outgrown(ctx context.Context, ns, name string, o op, refused error, over *store.BudgetError) (store.Result, stepped, error) {
	rec, err := h.store.Get(ctx, ns, name)
	if err != nil || rec.Spec == nil || rec.State == nil || !isRunning(rec.State.Phase) {
		return store.Result{}, stepped{}, refused
	}
	if fresh, _, err := h.engine.Start(*rec.Spec, rec.State.ID, rec.State.Started.Time); err == nil {
		if alone, _, err := o(*rec.Spec, fresh); err == nil && h.store.Fits(*rec.Spec, alone) != nil {
			return store.Result{}, stepped{}, refused
		}
	}
	now := h.now()
	f := experiment.Failure{Reason: "the experiment outgrew its annotation budget: " + over.Error(), OnFailure: true}
	res, out, err := h.write(ctx, ns, name, nil, "", experimentOn, func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		return h.engine.Fail(spec, st, f, now)
	})
	if err != nil {
		return res, out, refused
	}
	h.forward(ctx, out)
	return res, out, events.Permanent(http.StatusUnprocessableEntity,
		fmt.Errorf("service %s/%s: %w; the experiment failed and its traffic went as onFailure says", ns, name, over))
}

// experimentOn reads the experiment on a Service, Running or not; the
// engine refuses what a phase does not allow.
func experimentOn(r store.Record) (events.ExperimentSpec, experiment.State, error) {
	if r.Spec == nil || r.State == nil {
		return events.ExperimentSpec{}, experiment.State{}, events.Permanent(http.StatusUnprocessableEntity,
			fmt.Errorf("service %s: no experiment; send %s first", r.Name(), events.TypeExperimentStart))
	}
	return *r.Spec, *r.State, nil
}

// noExperimentRunning is the read of a start: the new spec, on a Service
// whose last experiment, if any, has ended.
func noExperimentRunning(spec events.ExperimentSpec) read {
	return func(r store.Record) (events.ExperimentSpec, experiment.State, error) {
		if r.State != nil && isRunning(r.State.Phase) {
			return spec, experiment.State{}, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf(
				"service %s: experiment %s is already %s; abort it or wait for it to complete before starting another",
				r.Name(), r.State.ID, r.State.Phase))
		}
		return spec, experiment.State{}, nil
	}
}

// isRunning reports whether an experiment in phase p takes data and
// control actions.
func isRunning(p experiment.Phase) bool {
	return p == experiment.PhaseRunning || p == experiment.PhasePaused
}

// optedIn refuses Services that have not opted in to iter8: the functions'
// Role may reach every Service in a namespace, but only labelled ones are
// theirs to change.
func optedIn(r store.Record) error {
	if r.Service.Labels[store.LabelEnabled] != "true" {
		return events.Permanent(http.StatusForbidden, fmt.Errorf(
			"service %s has not opted in to iter8: label it %s=true", r.Name(), store.LabelEnabled))
	}
	return nil
}

// engineError classifies the engine's errors: all are permanent, since the
// engine is deterministic and would refuse a redelivery the same way.
func engineError(service string, err error) error {
	status := http.StatusUnprocessableEntity
	if errors.Is(err, experiment.ErrInvalidSpec) || errors.Is(err, experiment.ErrInvalidObservation) || errors.Is(err, experiment.ErrInvalidControl) {
		status = http.StatusBadRequest
	}
	return events.Permanent(status, fmt.Errorf("service %s: %w", service, err))
}

// agrees refuses a split to write that the state written with it does not
// hold: every version written must have its percent in the state, and the
// percents written must sum to 100. Only the engine computes splits (see
// experiment.Result.Traffic), and step writes nothing else; this guards the
// one write path against an op that would (issue 16, finding 7).
func agrees(split, state map[string]int) error {
	if split == nil {
		return nil
	}
	sum := 0
	for v, p := range split {
		if q, ok := state[v]; !ok || q != p {
			return fmt.Errorf("traffic %v disagrees with the experiment's state %v", split, state)
		}
		sum += p
	}
	if sum != 100 {
		return fmt.Errorf("traffic %v sums to %d, not 100", split, sum)
	}
	return nil
}
