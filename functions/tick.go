package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// DefaultTickWorkers is how many experiments one tick collects at once:
// enough to overlap Prometheus and API round trips, few enough that a tick
// does not crowd out the events arriving beside it.
const DefaultTickWorkers = 4

// runningSelector selects the Services with an experiment in progress.
var runningSelector = fmt.Sprintf("%s in (running,paused),%s=true", store.LabelPhase, store.LabelEnabled)

// WithNamespaces limits the PingSource tick to Services in these
// namespaces: the ones the functions' per-namespace Roles reach. Without
// it the tick lists Services in all namespaces, which takes the
// ClusterRole.
func WithNamespaces(ns ...string) Option {
	return func(h *Handlers) { h.namespaces = append([]string(nil), ns...) }
}

// WithTickWorkers sets how many experiments a tick collects at once.
func WithTickWorkers(n int) Option {
	return func(h *Handlers) {
		if n > 0 {
			h.tickWorkers = n
		}
	}
}

// Collect handles the PingSource tick: for every running experiment in
// reach it folds in the metrics windows the collector gathers (each once,
// by its deterministic key) and enforces maxDuration. Experiments are
// collected a few at a time (WithTickWorkers) within the request's
// deadline; those not reached by then, and any transient failure, make the
// tick fail with a retried status, and the retry re-collects only what is
// missing, since applied windows are deduplicated. One experiment's
// permanent failure does not stop the others, nor does one namespace's
// failed list.
func (h *Handlers) Collect(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	log := h.logger(ctx)
	recs, transient := h.listRunning(ctx)
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		transient = append(transient, err)
		mu.Unlock()
	}
	sem := make(chan struct{}, max(h.tickWorkers, 1))
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
			if err := h.collectOne(ctx, rec); err != nil {
				log.LogAttrs(ctx, slog.LevelWarn, "collect failed", slog.String("service", rec.Name()),
					slog.Int("status", events.StatusOf(err)), slog.String("error", err.Error()))
				if !events.IsPermanent(err) {
					fail(err)
				}
			}
		}()
	}
	wg.Wait()
	if left := len(recs) - reached; left > 0 {
		transient = append(transient, fmt.Errorf("%d of %d experiments not reached before the deadline: %w", left, len(recs), ctx.Err()))
	}
	if len(transient) > 0 {
		return nil, events.Transient(http.StatusServiceUnavailable, fmt.Errorf("collect: %d failures, retried: %w", len(transient), errors.Join(transient...)))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "tick", slog.Int("experiments", len(recs)), slog.String("outcome", "applied"))
	return nil, nil
}

// listRunning lists the running experiments in every configured namespace
// (all namespaces when none is configured). Unreadable Services are logged
// and skipped; a failed list is returned as a transient failure, and the
// other namespaces are still collected.
func (h *Handlers) listRunning(ctx context.Context) ([]store.Record, []error) {
	namespaces := h.namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	var recs []store.Record
	var transient []error
	for _, ns := range namespaces {
		got, err := h.store.List(ctx, ns, runningSelector)
		switch {
		case err != nil && events.IsPermanent(err):
			h.logger(ctx).LogAttrs(ctx, slog.LevelWarn, "unreadable experiments skipped", slog.String("error", err.Error()))
		case err != nil:
			transient = append(transient, err)
		}
		recs = append(recs, got...)
	}
	return recs, transient
}
