package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// DefaultSource is the CloudEvents source of the events iter8 emits: the
// functions' Knative Service of config/, named the way Knative's own
// sources name theirs (SourceFor).
var DefaultSource = SourceFor("iter8-system", "iter8-functions")

// SourceFor is the source of events emitted by the functions' Knative
// Service ns/name, after Knative's convention for event sources,
// /apis/v1/namespaces/NS/RESOURCE/NAME (a PingSource emits as
// /apis/v1/namespaces/NS/pingsources/NAME).
func SourceFor(ns, name string) string { return "/apis/v1/namespaces/" + ns + "/services/" + name }

// Handlers are iter8's functions. Build them with New.
type Handlers struct {
	store  *store.Store
	source string
	now    func() time.Time
	log    *slog.Logger
	engine experiment.Engine
	// collect gathers metrics windows on a tick; nil when no collector is
	// configured.
	collect Collector
	// emit sends every emitted event on (to K_SINK); nil when unset.
	emit func(context.Context, cloudevents.Event) error
	// deadLetters makes Route only log and acknowledge what it receives.
	deadLetters bool
	// namespaces limits the tick's listing; empty means all (tick.go).
	namespaces  []string
	tickWorkers int
}

// Collector gathers the metrics of running experiments on a tick. The
// Prometheus collector (pkg/collector) implements it.
type Collector interface {
	// Windows returns, for one experiment, the windows to fold in, each
	// with its dedupe key, starting at State.Collected.
	Windows(ctx context.Context, rec store.Record, now time.Time) ([]collector.Window, error)
}

// Option configures Handlers.
type Option func(*Handlers)

// WithSource sets the source of emitted events.
func WithSource(s string) Option { return func(h *Handlers) { h.source = s } }

// WithClock sets the clock; tests pass a fixed one.
func WithClock(now func() time.Time) Option { return func(h *Handlers) { h.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(h *Handlers) { h.log = l } }

// WithEngine sets the engine (for example, fewer Monte Carlo draws).
func WithEngine(e experiment.Engine) Option { return func(h *Handlers) { h.engine = e } }

// WithCollector enables metrics collection on the PingSource tick.
func WithCollector(c Collector) Option { return func(h *Handlers) { h.collect = c } }

// WithEmitter sends every emitted event to emit as well as replying with
// the most significant one; the server sets it to K_SINK.
func WithEmitter(emit func(context.Context, cloudevents.Event) error) Option {
	return func(h *Handlers) { h.emit = emit }
}

// WithDeadLetters turns the handlers into a dead-letter sink: every event
// is logged (attributes only, never the payload) and acknowledged.
func WithDeadLetters() Option { return func(h *Handlers) { h.deadLetters = true } }

// New returns the handlers over a store.
func New(s *store.Store, opts ...Option) *Handlers {
	h := &Handlers{store: s, source: DefaultSource, now: time.Now, log: slog.Default(), tickWorkers: DefaultTickWorkers}
	for _, o := range opts {
		o(h)
	}
	return h
}

// InboundTypes are the CloudEvent types Route handles.
var InboundTypes = []string{events.TypeExperimentStart, events.TypeMetricsObserved, events.TypeExperimentControl, events.TypePing}

// Route dispatches an event to its handler by type. Unknown types are a
// permanent 400: no amount of retrying will teach iter8 a new type.
func (h *Handlers) Route(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	if h.deadLetters {
		h.log.LogAttrs(ctx, slog.LevelWarn, "dead letter", slog.String("id", e.ID()), slog.String("type", e.Type()),
			slog.String("source", e.Source()), slog.String("subject", e.Subject()))
		return nil, nil
	}
	switch e.Type() {
	case events.TypeExperimentStart:
		return h.Start(ctx, e)
	case events.TypeMetricsObserved:
		return h.Observe(ctx, e)
	case events.TypeExperimentControl:
		return h.Control(ctx, e)
	case events.TypePing:
		return h.Collect(ctx, e)
	}
	return nil, events.Permanent(http.StatusBadRequest, fmt.Errorf("event type %q is not one iter8 handles (want one of %s)",
		e.Type(), strings.Join(InboundTypes, ", ")))
}

// Start starts an experiment: it checks the spec against the Service and its
// revisions, writes the spec, the initial state and the first split, and
// replies with dev.iter8.experiment.started.
func (h *Handlers) Start(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	spec, err := events.DecodeExperimentStart(e)
	if err != nil {
		return nil, err
	}
	ns, name, err := subject(e)
	if err != nil {
		return nil, err
	}
	spec = spec.Defaulted()
	rec, err := h.store.Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if err := optedIn(rec); err != nil {
		return nil, err
	}
	if err := h.store.CheckRevisions(ctx, ns, name, spec.Versions()); err != nil {
		return nil, err
	}
	id := experimentID(e)
	now := h.now()
	var out experiment.Result
	res, err := h.store.Update(ctx, ns, name, events.DedupeKey(e), func(r store.Record) (*store.Change, error) {
		if err := optedIn(r); err != nil {
			return nil, err
		}
		if r.State != nil && (r.State.Phase == experiment.PhaseRunning || r.State.Phase == experiment.PhasePaused) {
			return nil, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf(
				"service %s: experiment %s is already %s; abort it or wait for it to complete before starting another",
				r.Name(), r.State.ID, r.State.Phase))
		}
		st, result, err := h.engine.Start(spec, id, now)
		if err != nil {
			return nil, engineError(r.Name(), err)
		}
		out = result.WithService(r.Service.Name)
		return &store.Change{Spec: &spec, State: st, Traffic: result.Traffic, Status: experiment.Summary(spec, st)}, nil
	})
	return h.reply(ctx, e, ns, name, res, out, err)
}

// Observe folds one window of metrics into the experiment, assesses, decides
// and moves traffic; it replies with the most significant event emitted:
// completed, else traffic.changed, else assessed.
func (h *Handlers) Observe(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	obs, err := events.DecodeMetricsObserved(e)
	if err != nil {
		return nil, err
	}
	ns, name, err := subject(e)
	if err != nil {
		return nil, err
	}
	res, out, err := h.observe(ctx, ns, name, windowKey(e, obs), obs)
	return h.reply(ctx, e, ns, name, res, out, err)
}

// windowKey is a metrics event's dedupe key: its source and the window's
// id (events.WindowID) rather than the event id, so that a window resent
// under a new id is still counted once (docs/events.md). A redelivery
// keeps its window, so it is recognised too; and the collector's events,
// whose id is the WindowID, get the same key as the windows it folds in
// directly on the tick.
func windowKey(e cloudevents.Event, obs events.MetricsObserved) string {
	return e.Source() + " " + events.WindowID(e.Subject(), e.Source(), obs.Window)
}

func (h *Handlers) observe(ctx context.Context, ns, name, key string, obs events.MetricsObserved) (store.Result, experiment.Result, error) {
	return h.observeFrom(ctx, ns, name, key, obs, false)
}

// observeFrom folds a window in; collected marks a window of the metrics
// collector, whose end becomes State.Collected in the same write.
func (h *Handlers) observeFrom(ctx context.Context, ns, name, key string, obs events.MetricsObserved, collected bool) (store.Result, experiment.Result, error) {
	res, out, err := h.observeChecked(ctx, ns, name, key, obs, true, collected)
	if errors.Is(err, errRouteBroken) {
		return h.vanished(ctx, ns, name, key, obs, collected)
	}
	return res, out, err
}

// observeChecked folds a window in; with checkRoute it first refuses to
// write when the Route reports a failure (see vanished).
func (h *Handlers) observeChecked(ctx context.Context, ns, name, key string, obs events.MetricsObserved, checkRoute, collected bool) (store.Result, experiment.Result, error) {
	now := h.now()
	var out experiment.Result
	res, err := h.store.Update(ctx, ns, name, key, func(r store.Record) (*store.Change, error) {
		spec, st, err := running(r)
		if err != nil {
			return nil, err
		}
		if checkRoute && routeBroken(r.Service) {
			return nil, errRouteBroken
		}
		if collected && collectedAlready(st, obs.Window) {
			return nil, nil
		}
		next, result, err := h.engine.Observe(spec, st, obs, now)
		if err != nil {
			return nil, engineError(r.Name(), err)
		}
		if collected && obs.Window.End.After(next.Collected.Time) {
			next.Collected = obs.Window.End
		}
		out = result.WithService(r.Service.Name)
		return change(spec, next, out), nil
	})
	return res, out, err
}

// Control applies pause, resume, abort or promote.
func (h *Handlers) Control(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	c, err := events.DecodeControl(e)
	if err != nil {
		return nil, err
	}
	ns, name, err := subject(e)
	if err != nil {
		return nil, err
	}
	now := h.now()
	var out experiment.Result
	res, err := h.store.Update(ctx, ns, name, events.DedupeKey(e), func(r store.Record) (*store.Change, error) {
		spec, st, err := running(r)
		if err != nil {
			return nil, err
		}
		next, result, err := h.engine.Control(spec, st, c, now)
		if err != nil {
			return nil, engineError(r.Name(), err)
		}
		out = result.WithService(r.Service.Name)
		return change(spec, next, out), nil
	})
	return h.reply(ctx, e, ns, name, res, out, err)
}

// collectedAlready reports whether a collector window starts before the
// collector's mark: two ticks delivered at once compute windows with
// different ends (so different dedupe keys) over the same time, and only
// the first to be written may count.
func collectedAlready(st experiment.State, w events.Window) bool {
	mark := st.Collected.Time
	if mark.IsZero() {
		mark = st.Started.Time
	}
	return w.Start.Before(mark)
}

// change turns an engine step into a store change.
func change(spec events.ExperimentSpec, st experiment.State, r experiment.Result) *store.Change {
	ch := &store.Change{State: st, Traffic: r.Traffic, Status: experiment.Summary(spec, st)}
	for _, o := range r.Emit {
		if a, ok := o.Data.(events.Assessed); ok {
			ch.Assessment = &a
		}
	}
	return ch
}

func running(r store.Record) (events.ExperimentSpec, experiment.State, error) {
	if err := optedIn(r); err != nil {
		return events.ExperimentSpec{}, experiment.State{}, err
	}
	if r.Spec == nil || r.State == nil {
		return events.ExperimentSpec{}, experiment.State{}, events.Permanent(http.StatusUnprocessableEntity,
			fmt.Errorf("service %s: no experiment; send %s first", r.Name(), events.TypeExperimentStart))
	}
	return *r.Spec, *r.State, nil
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

func subject(e cloudevents.Event) (string, string, error) {
	ns, name, err := events.ParseSubject(e.Subject())
	if err != nil {
		return "", "", events.Permanent(http.StatusBadRequest, fmt.Errorf("event %s: subject: %w", e.ID(), err))
	}
	return ns, name, nil
}

// experimentID names an experiment after the event that started it, so that
// a redelivered start is recognised as the same experiment.
func experimentID(e cloudevents.Event) string {
	h := sha256.Sum256([]byte(events.DedupeKey(e)))
	return hex.EncodeToString(h[:6])
}
