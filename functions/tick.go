package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

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

// WithTickWorkers sets how many experiments a tick collects at once when
// it collects in process (no fan-out).
func WithTickWorkers(n int) Option {
	return func(h *Handlers) {
		if n > 0 {
			h.tickWorkers = n
		}
	}
}

// Collect handles the PingSource tick. It lists the running experiments in
// reach and, for each, either emits a dev.iter8.experiment.collect event
// to the Broker, which any replica handles (CollectExperiment; the default
// whenever the functions have a K_SINK), or, with no sink or fan-out off,
// collects it in process (collectOne), a few at a time. Both collect up to
// the tick's time (tickTime), so a redelivered or doubled tick counts once.
// The work is bounded (WithTickSenders, WithTickWorkers) and so is its
// time, by the request's deadline: experiments not reached by then, a
// failed send and any transient failure make the tick fail with a retried
// status, and the retry does again only what is missing. One experiment's
// permanent failure does not stop the others, nor does one namespace's
// failed list.
func (h *Handlers) Collect(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	log := h.logger(ctx)
	recs, transient := h.listRunning(ctx)
	at := h.tickTime(e)
	mode := "in-process"
	var failed []error
	var left int
	if h.fanningOut() {
		mode = "fan-out"
		failed, left = h.fanOut(ctx, recs, at)
	} else {
		failed, left = h.each(ctx, recs, h.tickWorkers, func(ctx context.Context, rec store.Record) error {
			return h.collectOne(ctx, rec, at)
		})
	}
	transient = append(transient, failed...)
	if left > 0 {
		transient = append(transient, fmt.Errorf("%d of %d experiments not reached before the deadline: %w", left, len(recs), ctx.Err()))
	}
	if len(transient) > 0 {
		return nil, events.Transient(http.StatusServiceUnavailable, fmt.Errorf("collect: %d failures, retried: %w", len(transient), errors.Join(transient...)))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "tick", slog.Int("experiments", len(recs)), slog.String("mode", mode),
		slog.Time("until", at), slog.String("outcome", "applied"))
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
