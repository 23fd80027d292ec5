package load

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/iter8-knative/iter8/events"
)

// Burst is what one burst measured. It has no dedupe key: the functions
// count its window once by the collector's mark, which they move to the
// window's end in the same write, as for the collector's windows.
type Burst struct {
	Data events.MetricsObserved
	// Stats says how well the generator kept to the requested rate.
	Stats Stats
}

// Stats describe one burst's load, for the experiment's record.
type Stats struct {
	// Asked is the spec's rate; Requested the rate after the ceiling.
	Asked, Requested float64
	// Sent counts the counted requests, Errors those that failed (no
	// response, or a status of 400 or more).
	Sent, Errors int64
	// Span is the time the requests were sent over: from the first to
	// the last plus one interval at the requested rate, so that a burst
	// kept perfectly to its rate has Sent/Span equal to Requested.
	Span time.Duration
	// WarmUp counts the uncounted warm-up requests.
	WarmUp int64
	// Capped says how the ceiling or the deadline changed the burst.
	Capped []string
}

// Achieved is the burst's rate in requests per second.
func (s Stats) Achieved() float64 {
	if s.Span <= 0 {
		return 0
	}
	return float64(s.Sent) / s.Span.Seconds()
}

// KeptUp reports whether the burst reached Behind of the requested rate.
func (s Stats) KeptUp() bool { return s.Achieved() >= Behind*s.Requested }

// Run sends one burst to x's version (the warm-up first when x.First),
// within ctx's deadline, and measures it into a metrics window of the
// spec's built-in metrics. An error that no retry can mend (no load
// block, a target off the tag host) is permanent.
func (g *Generator) Run(ctx context.Context, x Target) (Burst, error) {
	subject := events.Subject(x.Namespace, x.Service)
	p, err := g.planFor(ctx, x)
	if err != nil {
		return Burst{}, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("load %s, version %s: %w", subject, x.Version, err))
	}
	log := slog.Default()
	var warm int64
	if p.warmUp > 0 {
		g.attack(ctx, p, p.warmUp, 0, "iter8-warm-up", func(*vegeta.Result) { warm++ })
	}
	if err := ctx.Err(); err != nil {
		return Burst{}, events.Transient(http.StatusServiceUnavailable, fmt.Errorf("load %s: warm-up cut short: %w", subject, err))
	}
	m, err := newMeasure(x.Spec)
	if err != nil {
		return Burst{}, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("load %s: %w", subject, err))
	}
	start := g.now()
	g.attack(ctx, p, p.length, p.requests, "iter8", m.add)
	end := g.now()
	if err := ctx.Err(); err != nil {
		return Burst{}, events.Transient(http.StatusServiceUnavailable, fmt.Errorf("load %s: burst cut short: %w", subject, err))
	}
	if m.sent == 0 || !end.After(start) {
		return Burst{}, events.Transient(http.StatusServiceUnavailable, fmt.Errorf("load %s: the burst sent no request", subject))
	}
	obs := events.NewMetricsObserved(start.UTC(), end.UTC())
	if err := m.observe(&obs, x.Version); err != nil {
		return Burst{}, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("load %s: %w", subject, err))
	}
	st := Stats{Asked: x.Spec.Load.Defaulted().Rate, Requested: p.rate, Sent: m.sent, Errors: m.errors,
		Span: m.last.Sub(m.first) + time.Duration(float64(time.Second)/p.rate), WarmUp: warm, Capped: p.capped}
	level := slog.LevelInfo
	if !st.KeptUp() {
		level = slog.LevelWarn
	}
	log.LogAttrs(ctx, level, "load burst", slog.String("service", subject), slog.String("version", x.Version),
		slog.Int64("sent", st.Sent), slog.Int64("errors", st.Errors), slog.Float64("requested", st.Requested),
		slog.Float64("achieved", st.Achieved()), slog.Int64("warmUp", warm), slog.String("capped", strings.Join(p.capped, "; ")))
	return Burst{Data: obs, Stats: st}, nil
}
