package collector

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/iter8-knative/iter8/events"
)

// Querier runs one instant PromQL query. The official client's v1.API
// satisfies it through New; tests may substitute their own.
type Querier interface {
	Query(ctx context.Context, promql string, at time.Time) (model.Value, v1.Warnings, error)
}

// apiQuerier adapts v1.API, whose Query also returns infos.
type apiQuerier struct{ api v1.API }

func (q apiQuerier) Query(ctx context.Context, promql string, at time.Time) (model.Value, v1.Warnings, error) {
	v, w, _, err := q.api.Query(ctx, promql, at)
	return v, w, err
}

// Defaults.
const (
	// DefaultLookback is how far before each end of a window a counter's
	// last sample is looked for; windows longer than it look back over
	// their own length, up to MaxLookback.
	DefaultLookback = 10 * time.Minute
	MaxLookback     = time.Hour
	// DefaultDelay holds a window's end this far behind the tick, so that
	// every scrape that started before the end (Prometheus stamps a scrape
	// with its start) has been written by the time the window is read;
	// Prometheus's default scrape timeout is 10s.
	DefaultDelay = 10 * time.Second
	// DefaultQueryTimeout bounds one query.
	DefaultQueryTimeout = 10 * time.Second
)

// Collector reads metrics windows from Prometheus.
type Collector struct {
	q        Querier
	names    Names
	lookback time.Duration
	delay    time.Duration
	timeout  time.Duration
	rt       http.RoundTripper
	// maxBytes and maxSeries cap one query's answer (access.go).
	maxBytes  int64
	maxSeries int
}

// Option configures a Collector.
type Option func(*Collector)

// WithNames sets where the request metrics are (default KnativeOTel()).
func WithNames(n Names) Option { return func(c *Collector) { c.names = n } }

// WithQuerier replaces the Prometheus HTTP client; address is then unused.
func WithQuerier(q Querier) Option { return func(c *Collector) { c.q = q } }

// WithRoundTripper sets the HTTP transport, for example one that adds a
// bearer token.
func WithRoundTripper(rt http.RoundTripper) Option { return func(c *Collector) { c.rt = rt } }

// WithLookback sets DefaultLookback's value.
func WithLookback(d time.Duration) Option { return func(c *Collector) { c.lookback = d } }

// WithDelay sets how far behind the tick Windows ends a window.
func WithDelay(d time.Duration) Option { return func(c *Collector) { c.delay = d } }

// WithQueryTimeout bounds each query.
func WithQueryTimeout(d time.Duration) Option { return func(c *Collector) { c.timeout = d } }

// New returns a Collector for the Prometheus at address (such as
// http://prometheus.monitoring:9090) using the official client.
func New(address string, opts ...Option) (*Collector, error) {
	c := &Collector{names: KnativeOTel(), lookback: DefaultLookback, delay: DefaultDelay, timeout: DefaultQueryTimeout,
		maxBytes: DefaultMaxResponseBytes, maxSeries: DefaultMaxSeries}
	for _, o := range opts {
		o(c)
	}
	if err := c.names.Validate(); err != nil {
		return nil, err
	}
	if c.lookback <= 0 || c.delay < 0 || c.timeout <= 0 {
		return nil, fmt.Errorf("collector: lookback %s and query timeout %s must be > 0, delay %s >= 0", c.lookback, c.timeout, c.delay)
	}
	if c.q == nil {
		if address == "" {
			return nil, fmt.Errorf("collector: Prometheus address is required")
		}
		client, err := api.NewClient(api.Config{Address: address, RoundTripper: limitBody{next: c.rt, max: c.maxBytes}})
		if err != nil {
			return nil, fmt.Errorf("collector: Prometheus at %q: %w", Redact(address), err)
		}
		c.q = seriesLimit{q: apiQuerier{v1.NewAPI(client)}, max: c.maxSeries}
	}
	return c, nil
}

// Names returns where the Collector looks for the request metrics.
func (c *Collector) Names() Names { return c.names }

// Where a metric's data comes from; see SourceOf.
const (
	SourceQuery   = "query"
	SourceErrors  = "errors"
	SourceLatency = "latency"
)

// SourceOf says how the collector observes metric m: through its query
// template (SourceQuery); as the built-in error ratio, a ratio metric named
// "errors" (SourceErrors); as the built-in latency, a mean or quantile
// metric named "latency" or "latency-<anything>" (SourceLatency); or not
// at all (""), when another producer is expected to send it.
func SourceOf(m events.MetricSpec) string {
	switch {
	case m.Query != "":
		return SourceQuery
	case m.Builtin() == events.BuiltinErrors:
		return SourceErrors
	case m.Builtin() == events.BuiltinLatency:
		return SourceLatency
	}
	return ""
}

// Collect observes the window [from, to) of versions (revisions) of the
// Service ns/service for every metric of spec the collector can source.
// Metrics without data for a version are left out of the result and listed
// in Missing, flagged Fail when their onMissing is "fail"; the result may
// hold no versions at all, and is then not worth sending. Errors are
// transient (Prometheus unreachable or failing: retry) or permanent (a
// query template or histogram buckets that cannot work: fail the
// experiment), see events.IsPermanent.
func (c *Collector) Collect(ctx context.Context, ns, service string, spec events.ExperimentSpec, versions []string, from, to time.Time) (events.MetricsObserved, Missing, error) {
	subject := events.Subject(ns, service)
	if _, _, err := events.ParseSubject(subject); err != nil {
		return events.MetricsObserved{}, nil, events.Permanent(http.StatusBadRequest, fmt.Errorf("collect: %w", err))
	}
	if !to.After(from) {
		return events.MetricsObserved{}, nil, events.Permanent(http.StatusBadRequest, fmt.Errorf("collect %s: window [%s, %s) is empty", subject, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano)))
	}
	if len(versions) == 0 {
		return events.MetricsObserved{}, nil, events.Permanent(http.StatusBadRequest, fmt.Errorf("collect %s: no versions", subject))
	}
	for _, v := range versions {
		if err := events.CheckLabel(v); err != nil {
			return events.MetricsObserved{}, nil, events.Permanent(http.StatusBadRequest, fmt.Errorf("collect %s: version: %w", subject, err))
		}
	}
	spec = spec.Defaulted()
	w := window{ns: ns, service: service, versions: versions, from: from, to: to}
	b, err := c.readBuiltins(ctx, w, spec)
	if err != nil {
		return events.MetricsObserved{}, nil, err
	}
	obs := events.NewMetricsObserved(from, to)
	var missing Missing
	types := map[string]string{}
	for _, v := range versions {
		for _, m := range spec.Metrics {
			types[m.Name] = m.Type
			var o events.Observation
			var reason string
			switch SourceOf(m) {
			case SourceQuery:
				o, reason, err = c.custom(ctx, w, m, v)
			case SourceErrors:
				o, reason = b.errors(v)
			case SourceLatency:
				o, reason, err = b.latency(m, v)
			default:
				continue
			}
			if err != nil {
				return events.MetricsObserved{}, nil, fmt.Errorf("collect %s, version %s: %w", subject, v, err)
			}
			if reason != "" {
				missing = append(missing, Gap{Version: v, Metric: m.Name, Fail: m.OnMissing == events.OnMissingFail, Reason: reason})
				continue
			}
			obs.Set(v, m.Name, o)
		}
	}
	if len(obs.Versions) > 0 {
		if err := obs.ValidateTypes(types); err != nil {
			return events.MetricsObserved{}, nil, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("collect %s: %w", subject, err))
		}
	}
	return obs, missing, nil
}

// window is one Collect call's scope.
type window struct {
	ns, service string
	versions    []string
	from, to    time.Time
}

// lookbackFor is how far before each end of w the counters' last samples
// are looked for: at least the configured lookback, and the window's own
// length (up to MaxLookback) so that a series that ended early in a long
// window is still read at its end.
func (c *Collector) lookbackFor(w window) time.Duration {
	return max(c.lookback, min(w.to.Sub(w.from), MaxLookback)).Round(time.Millisecond)
}

// query runs one instant query, classifying its failure.
func (c *Collector) query(ctx context.Context, what, promql string, at time.Time) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, _, err := c.q.Query(ctx, promql, at)
	if err != nil {
		return nil, classify(what, promql, err)
	}
	return v, nil
}

func (c *Collector) custom(ctx context.Context, w window, m events.MetricSpec, version string) (events.Observation, string, error) {
	q, err := render(m, TemplateData{Namespace: w.ns, Service: w.service, Revision: version, Window: promDuration(w.to.Sub(w.from))})
	if err != nil {
		return events.Observation{}, "", err
	}
	v, err := c.query(ctx, "metric "+m.Name, q, w.to)
	if err != nil {
		return events.Observation{}, "", err
	}
	return customObservation(m, v)
}
