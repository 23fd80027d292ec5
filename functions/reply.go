package functions

import (
	"context"
	"log/slog"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// significance orders emitted events for the single reply Knative allows:
// the reply is the most significant, and every other event goes to K_SINK.
// The reply itself does not: Knative already sends it on through the Broker,
// and a K_SINK pointing at the same Broker would deliver it twice.
var significance = map[string]int{
	events.TypeExperimentAssessed:  1,
	events.TypeExperimentStarted:   2,
	events.TypeTrafficChanged:      3,
	events.TypeExperimentCompleted: 4,
	events.TypeExperimentFailed:    5,
}

// reply logs the outcome of one event and builds the reply. The event's
// attributes are on the request's logger (see Server.handle).
func (h *Handlers) reply(ctx context.Context, res store.Result, out stepped, err error) (*cloudevents.Event, error) {
	log := h.logger(ctx)
	var attrs []slog.Attr
	if res.Conflicts > 0 {
		attrs = append(attrs, slog.Int("conflicts", res.Conflicts))
	}
	switch {
	case err != nil:
		attrs = append(attrs, slog.String("outcome", "error"), slog.Int("status", events.StatusOf(err)), slog.String("error", err.Error()))
		log.LogAttrs(ctx, slog.LevelWarn, "event refused", attrs...)
		return nil, err
	case res.Duplicate:
		log.LogAttrs(ctx, slog.LevelInfo, "duplicate event ignored", append(attrs, slog.String("outcome", "duplicate"))...)
		return nil, nil
	}
	if res.TrafficRejected != nil {
		log.LogAttrs(ctx, slog.LevelError, "traffic write rejected; state kept", append(attrs, slog.String("error", res.TrafficRejected.Error()))...)
	}
	evs := out.events
	var best *cloudevents.Event
	for i := range evs {
		if best == nil || significance[evs[i].Type()] > significance[best.Type()] {
			best = &evs[i]
		}
	}
	rest := make([]cloudevents.Event, 0, len(evs))
	for i := range evs {
		if &evs[i] != best {
			rest = append(rest, evs[i])
		}
	}
	h.sink(ctx, rest)
	outcome := "applied"
	if best != nil {
		outcome = best.Type()
	}
	log.LogAttrs(ctx, slog.LevelInfo, "event applied", append(attrs, slog.String("outcome", outcome))...)
	return best, nil
}

// outbound builds the CloudEvents of an engine result, emitted at time at,
// and their entries for the events log. An event that fails to build is
// logged, never fatal: the state is still written.
func (h *Handlers) outbound(ctx context.Context, ns, name string, out experiment.Result, at time.Time) ([]cloudevents.Event, []events.Emitted) {
	var evs []cloudevents.Event
	var log []events.Emitted
	for _, o := range out.Emit {
		e, err := events.New(o.Type, h.source, events.Subject(ns, name), at, o.Data)
		if err != nil {
			h.logger(ctx).LogAttrs(ctx, slog.LevelError, "cannot build outbound event", slog.String("emitted", o.Type), slog.String("error", err.Error()))
			continue
		}
		evs = append(evs, e)
		log = append(log, events.Emitted{Type: e.Type(), ID: e.ID(), Time: e.Time(), Summary: events.Summarize(o.Data)})
	}
	return evs, log
}

// sink sends events to K_SINK, when set. A failure is logged, never
// fatal: the state is already written, and a redelivery would be a
// duplicate that emits nothing.
func (h *Handlers) sink(ctx context.Context, evs []cloudevents.Event) {
	if h.emit == nil {
		return
	}
	for _, e := range evs {
		if err := h.emit(ctx, e); err != nil {
			h.logger(ctx).LogAttrs(ctx, slog.LevelWarn, "K_SINK delivery failed", slog.String("emitted", e.Type()), slog.String("error", err.Error()))
		}
	}
}
