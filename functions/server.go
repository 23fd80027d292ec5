package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// MaxBodyBytes caps a request body at the documented events.MaxEventBytes;
// the data inside is then held to events.MaxDataBytes when it is decoded.
const MaxBodyBytes = events.MaxEventBytes

// Timeouts bound how long one connection may hold the server.
type Timeouts struct {
	// ReadHeader cuts off clients that send headers slowly (slowloris).
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included.
	Read time.Duration
	// Handle bounds handling one event, once read: when it passes, the
	// handler's API and Prometheus calls are cancelled and the event is
	// answered with a retried 503, before the sender gives up.
	Handle time.Duration
	// Write bounds handling and answering one request.
	Write time.Duration
	// Idle bounds keep-alive connections between requests.
	Idle time.Duration
}

// DefaultRequestTimeout is the functions' Knative Service's timeoutSeconds
// in config/base/300-functions.yaml, which also passes it in
// ITER8_TIMEOUT_SECONDS: queue-proxy answers 504 for us once it passes,
// and the delivery would count that as our failure.
const DefaultRequestTimeout = 30 * time.Second

// TimeoutsFor derives every timeout from the request timeout that the
// platform enforces (Knative's timeoutSeconds): an event is answered, 2xx
// or a retried 503, within Handle = 5/6 of it, leaving the rest for the
// answer to travel back before queue-proxy or the sender cuts it off.
func TimeoutsFor(request time.Duration) Timeouts {
	return Timeouts{
		ReadHeader: min(5*time.Second, request/4),
		Read:       min(15*time.Second, request/2),
		Handle:     request * 5 / 6,
		Write:      request,
		Idle:       90 * time.Second,
	}
}

// DefaultTimeouts suit config/'s request timeout of 30 s.
var DefaultTimeouts = TimeoutsFor(DefaultRequestTimeout)

// Server serves the handlers over HTTP with health, readiness and metrics.
type Server struct {
	// Timeouts default to DefaultTimeouts.
	Timeouts Timeouts

	h        *Handlers
	store    *store.Store
	log      *slog.Logger
	ready    atomic.Bool
	reg      *prometheus.Registry
	handled  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight prometheus.Gauge
	srv      *http.Server
}

// NewServer wraps handlers in an HTTP server.
func NewServer(h *Handlers, s *store.Store) *Server {
	sv := &Server{Timeouts: DefaultTimeouts, h: h, store: s, log: h.log, reg: prometheus.NewRegistry()}
	sv.handled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "iter8_events_total", Help: "CloudEvents handled, by type and outcome (ok, duplicate-or-empty, or the HTTP status).",
	}, []string{"type", "outcome"})
	sv.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "iter8_event_duration_seconds", Help: "Time to handle one CloudEvent, API round trips included.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"type"})
	sv.inflight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iter8_events_in_flight", Help: "CloudEvents being handled."})
	conflicts := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "iter8_write_conflicts_total", Help: "Service writes retried after a resourceVersion conflict.",
	}, func() float64 { return float64(s.Conflicts()) })
	sv.reg.MustRegister(sv.handled, sv.latency, sv.inflight, conflicts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return sv
}

// handle routes one well-formed event and counts it; errors carry the
// status of their class and a message naming what was wrong.
func (sv *Server) handle(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	sv.inflight.Inc()
	defer sv.inflight.Dec()
	start := time.Now()
	if sv.Timeouts.Handle > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sv.Timeouts.Handle)
		defer cancel()
	}
	// Every log line about this event carries these, once.
	ctx = withLogger(ctx, sv.log.With(slog.String("id", e.ID()), slog.String("type", e.Type()),
		slog.String("source", e.Source()), slog.String("subject", e.Subject())))
	reply, err := sv.h.Route(ctx, e)
	if err != nil && ctx.Err() != nil && events.IsPermanent(err) {
		// A call cut off by the deadline may surface as any error; what
		// it means is "not done yet", which a redelivery completes.
		err = events.Transient(http.StatusServiceUnavailable, fmt.Errorf("not handled within %s: %w", sv.Timeouts.Handle, err))
	}
	typ := e.Type()
	if !slices.Contains(InboundTypes, typ) {
		typ = "unknown" // keeps the label set bounded whatever senders send
	}
	sv.latency.WithLabelValues(typ).Observe(time.Since(start).Seconds())
	if err != nil {
		status := events.StatusOf(err)
		sv.handled.WithLabelValues(typ, fmt.Sprint(status)).Inc()
		return nil, err
	}
	sv.handled.WithLabelValues(typ, "ok").Inc()
	return reply, nil
}

// Handler returns the HTTP handler: CloudEvents on /, plus /healthz,
// /readyz and /metrics.
func (sv *Server) Handler(ctx context.Context) (http.Handler, error) {
	// Requests that are not well-formed CloudEvents are refused (and
	// counted) before any handler runs: the SDK's own receive handler
	// answers most of them 500, which Knative retries.
	refused := func(status int) { sv.handled.WithLabelValues("malformed", fmt.Sprint(status)).Inc() }
	mux := http.NewServeMux()
	mux.Handle("/", events.Receiver(sv.handle, MaxBodyBytes, refused))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !sv.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(sv.reg, promhttp.HandlerOpts{}))
	return mux, nil
}

// Serve listens on ln until ctx ends, then stops taking requests, finishes
// those in flight (up to grace) and returns.
func (sv *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	// The CloudEvents receiver must outlive ctx: in-flight events finish
	// during the grace period.
	h, err := sv.Handler(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	sv.srv = &http.Server{
		Handler: h,
		// Slow clients are cut off: a slowloris holding headers or body
		// open does not hold a handler.
		ReadHeaderTimeout: sv.Timeouts.ReadHeader,
		ReadTimeout:       sv.Timeouts.Read,
		WriteTimeout:      sv.Timeouts.Write,
		IdleTimeout:       sv.Timeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(sv.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- sv.srv.Serve(ln) }()
	sv.ready.Store(true)
	sv.log.Info("serving", slog.String("address", ln.Addr().String()))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sv.ready.Store(false)
	sv.log.Info("shutting down; finishing in-flight events", slog.Duration("grace", grace))
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := sv.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
