package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// runningSelector selects the Services with an experiment in progress.
var runningSelector = fmt.Sprintf("%s in (running,paused),%s=true", store.LabelPhase, store.LabelEnabled)

// Collect handles the PingSource tick: for every running experiment in
// reach it folds in the metrics windows the collector gathers (each once,
// by its deterministic key) and enforces maxDuration. One experiment's
// permanent failure does not stop the others; any transient failure makes
// the tick fail with a retried status, and the retry re-collects only what
// is missing, since applied windows are deduplicated.
func (h *Handlers) Collect(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	log := h.logger(ctx)
	recs, err := h.store.List(ctx, "", runningSelector)
	switch {
	case err != nil && events.IsPermanent(err):
		// Unreadable Services are skipped; the others still get their tick.
		log.LogAttrs(ctx, slog.LevelWarn, "unreadable experiments skipped", slog.String("error", err.Error()))
	case err != nil:
		return nil, err
	}
	var transient []error
	for _, rec := range recs {
		if err := h.collectOne(ctx, rec); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "collect failed", slog.String("service", rec.Name()),
				slog.Int("status", events.StatusOf(err)), slog.String("error", err.Error()))
			if !events.IsPermanent(err) {
				transient = append(transient, err)
			}
		}
	}
	if len(transient) > 0 {
		return nil, events.Transient(http.StatusServiceUnavailable, fmt.Errorf("collect: %d experiments failed transiently: %w", len(transient), errors.Join(transient...)))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "tick", slog.Int("experiments", len(recs)), slog.String("outcome", "applied"))
	return nil, nil
}

// collectOne is the tick of one experiment, read as rec: it folds in the
// windows the collector gathers, fails the experiment when a metric with
// onMissing fail had no data, and enforces maxDuration, each through step.
func (h *Handlers) collectOne(ctx context.Context, rec store.Record) error {
	ns, name := rec.Service.Namespace, rec.Service.Name
	ctx = withLogger(ctx, h.logger(ctx).With(slog.String("service", rec.Name())))
	if x, ok := collection(rec); ok && h.collect != nil {
		windows, err := h.collect.Windows(ctx, x, h.now())
		var missing *collector.MissingError
		if errors.As(err, &missing) {
			// A metric with onMissing "fail" had no data: that is the
			// experiment's failure, not the tick's.
			_, out, err := h.step(ctx, ns, name, "", experimentOn, h.failOp(experiment.Failure{Reason: missing.Error(), OnFailure: true}))
			if err == nil {
				h.forward(ctx, ns, name, out)
			}
			return err
		}
		if err != nil {
			return err
		}
		for _, w := range windows {
			res, out, err := h.fold(ctx, ns, name, w.Key, w.Data, true)
			if err != nil {
				return err
			}
			if !res.Duplicate {
				h.forward(ctx, ns, name, out)
			}
		}
	}
	now := h.now()
	_, out, err := h.step(ctx, ns, name, "", experimentOn, func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		return h.engine.Tick(spec, st, now)
	})
	if err == nil {
		h.forward(ctx, ns, name, out)
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
// Prometheus data. ok is false when the experiment takes no data.
func collection(rec store.Record) (collector.Experiment, bool) {
	if rec.Service == nil || rec.Spec == nil || rec.State == nil || !isRunning(rec.State.Phase) {
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
func (h *Handlers) forward(ctx context.Context, ns, name string, out experiment.Result) {
	if h.emit == nil || len(out.Emit) == 0 {
		return
	}
	h.sink(ctx, h.outbound(ctx, ns, name, out))
}
