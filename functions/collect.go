package functions

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// collectOne is the tick of one experiment, read as rec, up to the tick's
// time at: it folds in the windows the collector gathers up to at, fails
// the experiment when a metric with onMissing fail had no data, and
// enforces maxDuration at at, each through step. It is the one
// per-experiment entry point of the tick, in process or fanned out
// (CollectExperiment). Given the same at, it does the same on any replica:
// the window depends only on the state and at. Its windows record no
// dedupe key: the collector's mark (State.Collected, written with the
// window) already makes each fold in once (observeOp), so a key would only
// take 12 bytes of the Service's annotations per window.
func (h *Handlers) collectOne(ctx context.Context, rec store.Record, at time.Time) error {
	ns, name := rec.Service.Namespace, rec.Service.Name
	ctx = withLogger(ctx, h.logger(ctx).With(slog.String("service", rec.Name())))
	if err := h.loadOne(ctx, rec, at); err != nil {
		return err
	}
	// The list (or the collect event's read) just read the Service: the
	// tick's writes start from it and from what they wrote, so that one
	// experiment's tick takes one write and no read of its own when no one
	// else wrote meanwhile. A load experiment's burst has just written it
	// (loadOne): its tick reads afresh.
	from := &rec
	if rec.Spec != nil && rec.Spec.Load != nil {
		from = nil
	}
	if x, ok := collection(rec); ok && h.collect != nil {
		windows, err := h.collect.Windows(ctx, x, at)
		var missing *collector.MissingError
		var limit *collector.LimitError
		if errors.As(err, &missing) || errors.As(err, &limit) {
			// A metric with onMissing "fail" had no data, or a query
			// brought back more than the collector takes: that is the
			// experiment's failure, shown in its status, not the tick's.
			reason := err.Error()
			_, out, err := h.step(ctx, ns, name, "", experimentOn, h.failOp(experiment.Failure{Reason: reason, OnFailure: true}))
			if err == nil {
				h.forward(ctx, out)
			}
			return err
		}
		if err != nil {
			return err
		}
		for _, w := range windows {
			res, out, err := h.fold(ctx, ns, name, from, "", w.Data, true)
			if err != nil {
				return err
			}
			h.forward(ctx, out) // nothing, when the mark showed it folded in already
			from = nil
			if res.Written.Service != nil {
				from = &res.Written
			}
		}
	}
	_, out, err := h.stepFrom(ctx, ns, name, from, "", experimentOn, func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		if !isRunning(st.Phase) {
			return st, experiment.Result{}, nil // a window above just decided it
		}
		return h.engine.Tick(spec, st, at)
	})
	if err == nil {
		h.forward(ctx, out)
	}
	return err
}

// failOp is the engine's Fail for f.
func (h *Handlers) failOp(f experiment.Failure) op {
	now := h.now()
	return func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		return h.engine.Fail(spec, st, f, now)
	}
}

// collection is what the collector needs of the experiment on rec: its
// spec, versions, and where the next window starts (the end of the last
// window the collector folded in, or the experiment's start). Windows that
// applications send themselves do not move that mark, so they never hide
// Prometheus data. ok is false when the experiment takes no data, or
// measures its own with a load block: Prometheus would count the
// generated requests a second time.
func collection(rec store.Record) (collector.Experiment, bool) {
	if rec.Service == nil || rec.Spec == nil || rec.State == nil || !isRunning(rec.State.Phase) || rec.Spec.Load != nil {
		return collector.Experiment{}, false
	}
	since := rec.State.Collected.Time
	if since.IsZero() {
		since = rec.State.Started.Time
	}
	return collector.Experiment{Namespace: rec.Service.Namespace, Service: rec.Service.Name,
		Spec: *rec.Spec, Versions: rec.State.Versions, Since: since}, true
}

// forward sends a tick's emitted events to K_SINK; a tick has no one to
// reply to about a particular Service.
func (h *Handlers) forward(ctx context.Context, out stepped) {
	h.sink(ctx, out.events)
}
