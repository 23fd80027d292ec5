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
	// load sends the built-in load of experiments with a load block; nil
	// when not configured.
	load Loader
	// emit sends emitted events on (to K_SINK), except the reply; nil when
	// unset.
	emit func(context.Context, cloudevents.Event) error
	// deadLetters makes Route only log and acknowledge what it receives.
	deadLetters bool
	// namespaces limits the tick's listing; empty means all (tick.go).
	namespaces  []string
	tickWorkers int
	// fanout, tickSenders, collectSlots and tickPeriod shape the tick's
	// fan-out to collect events (fanout.go).
	fanout       bool
	tickSenders  int
	collectSlots chan struct{}
	tickPeriod   time.Duration
}

// Collector gathers the metrics of running experiments on a tick. The
// Prometheus collector (pkg/collector) implements it.
type Collector interface {
	// Windows returns, for one experiment, the windows to fold in, each
	// with its dedupe key, starting at x.Since.
	Windows(ctx context.Context, x collector.Experiment, now time.Time) ([]collector.Window, error)
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

// WithEmitter sends every emitted event except the reply to emit; the most
// significant one is the reply, which Knative sends on through the Broker.
// A tick has no reply, so all of its events go to emit. The server sets it
// to K_SINK.
func WithEmitter(emit func(context.Context, cloudevents.Event) error) Option {
	return func(h *Handlers) { h.emit = emit }
}

// WithDeadLetters turns the handlers into a dead-letter sink: every event
// is logged (attributes only, never the payload) and acknowledged.
func WithDeadLetters() Option { return func(h *Handlers) { h.deadLetters = true } }

// New returns the handlers over a store.
func New(s *store.Store, opts ...Option) *Handlers {
	h := &Handlers{store: s, source: DefaultSource, now: time.Now, log: slog.Default(), tickWorkers: DefaultTickWorkers,
		tickSenders: DefaultTickSenders, collectSlots: make(chan struct{}, DefaultCollectConcurrency)}
	for _, o := range opts {
		o(h)
	}
	h.log = slog.New(CapLogValues(h.log.Handler()))
	return h
}

// InboundTypes are the CloudEvent types Route handles.
var InboundTypes = []string{events.TypeExperimentStart, events.TypeMetricsObserved, events.TypeExperimentControl, events.TypePing,
	events.TypeExperimentCollect}

// Route dispatches an event to its handler by type. Unknown types are a
// permanent 400: no amount of retrying will teach iter8 a new type.
func (h *Handlers) Route(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	if h.deadLetters {
		h.logger(ctx).LogAttrs(ctx, slog.LevelWarn, "dead letter")
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
	case events.TypeExperimentCollect:
		return h.CollectExperiment(ctx, e)
	}
	return nil, events.Permanent(http.StatusBadRequest, fmt.Errorf("event type %q is not one iter8 handles (want one of %s)",
		e.Type(), strings.Join(InboundTypes, ", ")))
}

// Start starts an experiment: it checks the spec against the Service and its
// revisions, writes the spec, the initial state and the first split, and
// replies with dev.iter8.experiment.started.
func (h *Handlers) Start(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	spec, ns, name, err := decode(e, events.DecodeExperimentStart)
	if err != nil {
		return nil, err
	}
	spec = spec.Defaulted()
	// Accepted all the same; the note also goes into the status line
	// (experiment.Summary) and `kn iter8 describe`.
	for _, note := range spec.Decidability() {
		h.log.LogAttrs(ctx, slog.LevelWarn, "objective limit inside a histogram bucket",
			slog.String("subject", e.Subject()), slog.String("note", note))
	}
	rec, err := h.store.Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if err := optedIn(rec); err != nil {
		return nil, err
	}
	if err := loadTagged(rec, spec); err != nil {
		return nil, err
	}
	if err := h.store.CheckRevisions(ctx, ns, name, spec.Versions()); err != nil {
		return nil, err
	}
	id, now := experimentID(e), h.now()
	res, out, err := h.step(ctx, ns, name, events.DedupeKey(e), noExperimentRunning(spec),
		func(spec events.ExperimentSpec, _ experiment.State) (experiment.State, experiment.Result, error) {
			return h.engine.Start(spec, id, now)
		})
	return h.reply(ctx, res, out, err)
}

// Observe folds one window of metrics into the experiment, assesses, decides
// and moves traffic; it replies with the most significant event emitted:
// completed, else traffic.changed, else assessed.
func (h *Handlers) Observe(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	obs, ns, name, err := decode(e, events.DecodeMetricsObserved)
	if err != nil {
		return nil, err
	}
	res, out, err := h.fold(ctx, ns, name, nil, windowKey(e, obs), obs, e.Source() == collector.Source)
	return h.reply(ctx, res, out, err)
}

// windowKey is a metrics event's dedupe key: its source and the window's
// id (events.WindowID) rather than the event id, so that a window resent
// under a new id is still counted once (docs/events.md). A redelivery
// keeps its window, so it is recognised too. A window of the collector's
// source (collector.Event) is a collector window, whichever way it comes:
// the collector's mark counts it once against the windows the tick folds
// in, which record no key.
func windowKey(e cloudevents.Event, obs events.MetricsObserved) string {
	return events.DedupeKeyOf(e.Source(), events.WindowID(e.Subject(), e.Source(), obs.Window))
}

// fold folds a window into the experiment. fromCollector marks a window of
// the metrics collector, whose end becomes State.Collected in the same
// write. from, when set, is a record of the Service just listed or
// written (see stepFrom). A window never goes to a Service whose Route is broken before it
// is known whether a revision of the experiment vanished (see vanished).
func (h *Handlers) fold(ctx context.Context, ns, name string, from *store.Record, key string, obs events.MetricsObserved, fromCollector bool) (store.Result, stepped, error) {
	return h.foldWith(ctx, ns, name, from, key, h.observeOp(obs, fromCollector))
}

// foldWith is fold of an op built on observeOp.
func (h *Handlers) foldWith(ctx context.Context, ns, name string, from *store.Record, key string, o op) (store.Result, stepped, error) {
	res, out, err := h.stepFrom(ctx, ns, name, from, key, experimentOnRoutedService, o)
	if errors.Is(err, errRouteBroken) {
		return h.vanished(ctx, ns, name, key, o)
	}
	return res, out, err
}

// observeOp is the engine's Observe of obs. A collector window that starts
// before the collector's mark changes nothing: that is how each collector
// window counts once. The mark is written with the window and moves to its
// end, so a redelivery of the same window, and a window of another tick
// over the same time (two ticks delivered at once compute windows with
// different ends), start before it once the first is written; the store
// re-runs the op on the record written meanwhile (a 409, or the previous
// member of a group commit), so no dedupe key is needed.
func (h *Handlers) observeOp(obs events.MetricsObserved, fromCollector bool) op {
	now := h.now()
	return func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		if fromCollector && collectedAlready(st, obs.Window) {
			return st, experiment.Result{}, nil
		}
		next, res, err := h.engine.Observe(spec, st, obs, now)
		if err == nil && fromCollector && obs.Window.End.After(next.Collected.Time) {
			next.Collected = obs.Window.End
		}
		return next, res, err
	}
}

// collectedAlready reports whether a collector window starts before the
// collector's mark.
func collectedAlready(st experiment.State, w events.Window) bool {
	mark := st.Collected.Time
	if mark.IsZero() {
		mark = st.Started.Time
	}
	return w.Start.Before(mark)
}

// Control applies pause, resume, abort or promote.
func (h *Handlers) Control(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	c, ns, name, err := decode(e, events.DecodeControl)
	if err != nil {
		return nil, err
	}
	now := h.now()
	res, out, err := h.step(ctx, ns, name, events.DedupeKey(e), experimentOn,
		func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
			return h.engine.Control(spec, st, c, now)
		})
	return h.reply(ctx, res, out, err)
}

// decode decodes an inbound event's data with dec and reads the Service
// its subject names.
func decode[T any](e cloudevents.Event, dec func(cloudevents.Event) (T, error)) (data T, ns, name string, err error) {
	if data, err = dec(e); err != nil {
		return data, "", "", err
	}
	ns, name, err = subject(e)
	return data, ns, name, err
}

func subject(e cloudevents.Event) (string, string, error) {
	ns, name, err := events.ParseSubject(e.Subject())
	if err != nil {
		return "", "", events.Permanent(http.StatusBadRequest, fmt.Errorf("event %s: subject: %w", events.Quote(e.ID(), events.MaxEcho), err))
	}
	return ns, name, nil
}

// experimentID names an experiment after the event that started it, so that
// a redelivered start is recognised as the same experiment.
func experimentID(e cloudevents.Event) string {
	h := sha256.Sum256([]byte(events.DedupeKey(e)))
	return hex.EncodeToString(h[:6])
}
