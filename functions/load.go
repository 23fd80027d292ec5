package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/load"
	"github.com/iter8-knative/iter8/pkg/store"
)

// Loader runs one burst of an experiment's built-in load. pkg/load's
// Generator implements it.
type Loader interface {
	Run(ctx context.Context, x load.Target) (load.Burst, error)
}

// WithLoader enables the built-in load of experiments with a load block.
func WithLoader(l Loader) Option { return func(h *Handlers) { h.load = l } }

// loadOne is the load half of an experiment's tick: for a running
// experiment with a load block it sends one burst to the version's tag
// URL and folds the measured window in, with the burst's account of the
// rate, in one write. Nothing is kept between ticks: whether this is the
// first burst (the one the warm-up precedes) is read from the state. A
// paused or ended experiment gets no load, and a burst never outlives the
// tick (pkg/load bounds it), so a load stops within one burst of a pause,
// an abort or the end; the burst does not re-read the state while it
// runs, which would cost API reads for at most one burst's saving. A
// burst that can never work (a target off the tag host) fails the
// experiment. A tick time at that already has its burst folded in (a
// redelivered collect event, a doubled tick) sends none: its window would
// count once anyway, and the load would reach the version twice. Its
// window records no dedupe key: like the collector's windows, it counts
// once by the collector's mark (State.Collected), which its write moves to
// the window's end (observeOp), so a key would only take 12 bytes of the
// Service's annotations per burst. Two replicas that send bursts for one
// tick at once measure different windows, which keys (one per window)
// never told apart: it is the mark that counts only the first written of
// overlapping windows.
func (h *Handlers) loadOne(ctx context.Context, rec store.Record, at time.Time) error {
	if h.load == nil || rec.Spec == nil || rec.Spec.Load == nil || rec.State == nil || rec.State.Phase != experiment.PhaseRunning || rec.Service == nil {
		return nil
	}
	if rec.State.Load.Served(at) {
		h.logger(ctx).LogAttrs(ctx, slog.LevelDebug, "load burst skipped: this tick's burst is already folded in", slog.Time("tick", at))
		return nil
	}
	ns, name := rec.Service.Namespace, rec.Service.Name
	version := rec.Spec.Baseline
	tagURL := tagURLOf(rec, version)
	if tagURL == "" {
		h.logger(ctx).LogAttrs(ctx, slog.LevelInfo, "load waits for the version's tag URL in the Route's status", slog.String("version", version))
		return nil
	}
	b, err := h.load.Run(ctx, load.Target{Namespace: ns, Service: name, Spec: *rec.Spec, Version: version, TagURL: tagURL,
		First: rec.State.Load == nil})
	if err != nil && events.IsPermanent(err) {
		_, out, ferr := h.step(ctx, ns, name, "", experimentOn, h.failOp(experiment.Failure{Reason: err.Error(), OnFailure: true}))
		if ferr == nil {
			h.forward(ctx, out)
		}
		return ferr
	}
	if err != nil {
		return err
	}
	burst := experiment.LoadBurst{Asked: b.Stats.Asked, Requested: b.Stats.Requested, Sent: b.Stats.Sent, Errors: b.Stats.Errors,
		Seconds: b.Stats.Span.Seconds(), KeptUp: b.Stats.KeptUp(), Capped: strings.Join(b.Stats.Capped, "; "), Tick: at}
	observe := h.observeOp(b.Data, true)
	_, out, err := h.foldWith(ctx, ns, name, nil, "", func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		counted := !collectedAlready(st, b.Data.Window)
		next, result, err := observe(spec, st)
		if err == nil && counted {
			next.Load = next.Load.Add(burst)
		}
		return next, result, err
	})
	if errors.Is(err, experiment.ErrNotRunning) {
		// The experiment ended or was aborted during the burst: its
		// window is not folded in, and that is no failure of the tick.
		h.logger(ctx).LogAttrs(ctx, slog.LevelInfo, "load burst dropped: the experiment ended while it ran")
		return nil
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", rec.Name(), err)
	}
	h.forward(ctx, out) // nothing, when the mark showed it folded in already
	return nil
}

// loadTagged refuses a load block whose version has no traffic tag in
// the Service's spec.traffic: the load goes to the version's tag URL
// alone, and a performance experiment never writes spec.traffic itself.
func loadTagged(rec store.Record, spec events.ExperimentSpec) error {
	if spec.Load == nil || rec.Service == nil {
		return nil
	}
	for _, t := range rec.Service.Spec.Traffic {
		if t.RevisionName == spec.Baseline && t.Tag != "" {
			return nil
		}
	}
	return events.Permanent(http.StatusUnprocessableEntity, events.FieldErrors{{Path: "spec.load", Message: fmt.Sprintf(
		"revision %s of service %s has no traffic tag, and the load goes only to a version's tag URL: tag it first, e.g. `kn service update %s --tag %s=%s`",
		spec.Baseline, rec.Name(), rec.Service.Name, spec.Baseline, store.Tag(rec.Service.Name, spec.Baseline))}})
}

// tagURLOf is the URL of version's tag in the Route's status, or "" while
// the Route has none.
func tagURLOf(rec store.Record, version string) string {
	for _, t := range rec.Service.Status.Traffic {
		if t.RevisionName == version && t.Tag != "" && t.URL != nil {
			return t.URL.String()
		}
	}
	return ""
}

// loadOptions returns the load generator's option, with the ceiling from
// lookup.
func loadOptions(log *slog.Logger, lookup func(string) (string, bool)) (Option, error) {
	opts, err := load.FromEnv(lookup)
	if err != nil {
		return nil, fmt.Errorf("load generator: %w", err)
	}
	g, err := load.New(opts...)
	if err != nil {
		return nil, err
	}
	log.Info("load generator on", slog.String("ceiling", g.Ceiling()))
	return WithLoader(g), nil
}
