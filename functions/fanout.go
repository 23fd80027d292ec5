package functions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// Defaults of the tick's fan-out (docs/metrics.md, "The tick, fanned out").
const (
	// DefaultTickSenders is how many collect events one tick has in flight
	// to the Broker at once. With Knative's InMemoryChannel a send is
	// answered only once the event has been delivered and handled, so
	// this also bounds how many collections one tick drives at once.
	DefaultTickSenders = 32
	// DefaultCollectConcurrency is how many collect events one replica
	// handles at once; the others wait for a slot within their deadline.
	// It bounds the Prometheus queries and API writes of one replica.
	DefaultCollectConcurrency = 8
)

// WithFanout makes the tick emit one dev.iter8.experiment.collect event
// per running experiment to the emitter (K_SINK, the Broker), for any
// replica to collect, instead of collecting in process. It takes an
// emitter (WithEmitter); without one the tick collects in process.
func WithFanout(on bool) Option { return func(h *Handlers) { h.fanout = on } }

// WithTickSenders sets how many collect events a tick sends at once.
func WithTickSenders(n int) Option {
	return func(h *Handlers) {
		if n > 0 {
			h.tickSenders = n
		}
	}
}

// WithCollectConcurrency sets how many collect events one replica handles
// at once.
func WithCollectConcurrency(n int) Option {
	return func(h *Handlers) {
		if n > 0 {
			h.collectSlots = make(chan struct{}, n)
		}
	}
}

// WithTickPeriod truncates each tick's time to a multiple of p (the
// PingSource's schedule): two ticks in one period, a redelivered tick and
// a PingSource that fires twice alike, then collect the same window, which
// counts once. Zero keeps the tick's own time.
func WithTickPeriod(p time.Duration) Option {
	return func(h *Handlers) {
		if p >= 0 {
			h.tickPeriod = p
		}
	}
}

// fanningOut reports whether the tick emits collect events.
func (h *Handlers) fanningOut() bool { return h.fanout && h.emit != nil }

// tickTime is the time a tick collects up to: the tick's own time (its
// CloudEvents time; its arrival when it has none), truncated to the tick
// period, and never after now, so that a PingSource whose clock runs
// ahead cannot mark as collected what Prometheus has not yet seen.
func (h *Handlers) tickTime(e cloudevents.Event) time.Time {
	now := h.now().UTC()
	at := e.Time().UTC()
	if at.IsZero() || at.After(now) {
		at = now
	}
	if h.tickPeriod > 0 {
		at = at.Truncate(h.tickPeriod)
	}
	return at
}

// fanOut emits one collect event per experiment in recs, a few at a time
// (WithTickSenders), within ctx's deadline. It returns the failed sends and
// how many were never tried. A collect event's id is a hash of its
// Service, experiment and tick (events.New), so the events of a tick sent
// again carry the same ids, and their collection counts once anyway (see
// CollectExperiment).
func (h *Handlers) fanOut(ctx context.Context, recs []store.Record, at time.Time) ([]error, int) {
	return h.each(ctx, recs, h.tickSenders, func(ctx context.Context, rec store.Record) error {
		e, err := events.New(events.TypeExperimentCollect, h.source, rec.Name(), at,
			events.Collect{Experiment: rec.State.ID, Tick: events.Time{Time: at}})
		if err != nil {
			return events.Permanent(http.StatusInternalServerError, fmt.Errorf("collect event for %s: %w", rec.Name(), err))
		}
		if err := h.emit(ctx, e); err != nil {
			return events.Transient(http.StatusServiceUnavailable, fmt.Errorf("collect event for %s: %w", rec.Name(), err))
		}
		return nil
	})
}

// each runs do for every record, at most n at once, until ctx ends. It
// returns the transient failures (logged, with the permanent ones, which
// are not returned: a retry would fail the same way) and how many records
// were not reached before ctx ended.
func (h *Handlers) each(ctx context.Context, recs []store.Record, n int, do func(context.Context, store.Record) error) ([]error, int) {
	log := h.logger(ctx)
	var mu sync.Mutex
	var failed []error
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	reached := 0
	for _, rec := range recs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		reached++
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := do(ctx, rec)
			if err == nil {
				return
			}
			log.LogAttrs(ctx, slog.LevelWarn, "collect failed", slog.String("service", rec.Name()),
				slog.Int("status", events.StatusOf(err)), slog.String("error", err.Error()))
			if !events.IsPermanent(err) {
				mu.Lock()
				failed = append(failed, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed, len(recs) - reached
}

// CollectExperiment handles dev.iter8.experiment.collect: the collection
// of one experiment for one tick (collectOne), on whichever replica the
// event reaches. It is idempotent: the collector's window ends at the
// event's tick and starts at the collector's mark, which the window's
// write moves to its end, so any later delivery finds its window starting
// before the mark and folds in nothing (nor queries, once the mark is at
// the tick); and maxDuration is judged at the tick. An event about
// an experiment that is no longer running (ended, or replaced by another)
// does nothing. At most WithCollectConcurrency events run at once in one
// replica; the rest wait for a slot within their deadline.
func (h *Handlers) CollectExperiment(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	c, ns, name, err := decode(e, events.DecodeExperimentCollect)
	if err != nil {
		return nil, err
	}
	log := h.logger(ctx)
	if h.collectSlots != nil {
		select {
		case h.collectSlots <- struct{}{}:
			defer func() { <-h.collectSlots }()
		case <-ctx.Done():
			return nil, events.Transient(http.StatusServiceUnavailable,
				fmt.Errorf("collect %s/%s: no free collection slot before the deadline: %w", ns, name, ctx.Err()))
		}
	}
	rec, err := h.store.Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if err := optedIn(rec); err != nil {
		return nil, err
	}
	if rec.State == nil || rec.State.ID != c.Experiment || !isRunning(rec.State.Phase) {
		log.LogAttrs(ctx, slog.LevelInfo, "collect", slog.String("outcome", "not running"), slog.String("experiment", c.Experiment))
		return nil, nil
	}
	at := c.Tick.Time
	if now := h.now(); at.After(now) {
		at = now
	}
	if err := h.collectOne(ctx, rec, at); err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "collect", slog.String("outcome", "error"), slog.Int("status", events.StatusOf(err)), slog.String("error", err.Error()))
		return nil, err
	}
	log.LogAttrs(ctx, slog.LevelInfo, "collect", slog.String("outcome", "applied"), slog.String("experiment", c.Experiment))
	return nil, nil
}
