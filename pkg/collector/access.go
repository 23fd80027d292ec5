package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/iter8-knative/iter8/events"
)

// Environment variables for reaching a Prometheus that wants credentials.
// Credentials are read from files (mounted Secrets), never from the URL or
// the experiment spec, and Prometheus's own client configuration
// (prometheus/common/config) re-reads them on every request, so a rotated
// Secret is picked up.
const (
	EnvBearerTokenFile       = "ITER8_PROMETHEUS_BEARER_TOKEN_FILE"
	EnvBasicAuthUsername     = "ITER8_PROMETHEUS_BASIC_AUTH_USERNAME"
	EnvBasicAuthPasswordFile = "ITER8_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE"
	EnvCAFile                = "ITER8_PROMETHEUS_CA_FILE"
)

// Limits on what one query may bring back. PromQL comes from the
// experiment spec, which any event sender writes: a query that matches
// every series must not be able to exhaust the functions' memory (128 MiB
// in config/base/300-functions.yaml).
const (
	DefaultMaxResponseBytes = 8 << 20
	DefaultMaxSeries        = 10000
)

// WithLimits sets the caps on one query's response size and series.
func WithLimits(maxBytes int64, maxSeries int) Option {
	return func(c *Collector) { c.maxBytes, c.maxSeries = maxBytes, maxSeries }
}

// AccessFromEnv builds the HTTP transport for the credentials and CA the
// environment names, or returns nil when it names none.
func AccessFromEnv(lookup func(string) (string, bool)) (http.RoundTripper, error) {
	get := func(k string) string { v, _ := lookup(k); return v }
	var cfg promconfig.HTTPClientConfig
	set := false
	if f := get(EnvBearerTokenFile); f != "" {
		cfg.Authorization, set = &promconfig.Authorization{Type: "Bearer", CredentialsFile: f}, true
	}
	if u, f := get(EnvBasicAuthUsername), get(EnvBasicAuthPasswordFile); u != "" || f != "" {
		cfg.BasicAuth, set = &promconfig.BasicAuth{Username: u, PasswordFile: f}, true
	}
	if f := get(EnvCAFile); f != "" {
		cfg.TLSConfig.CAFile, set = f, true
	}
	if !set {
		return nil, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus client configuration: %w", err)
	}
	rt, err := promconfig.NewRoundTripperFromConfig(cfg, "iter8-collector")
	if err != nil {
		return nil, fmt.Errorf("prometheus client configuration: %w", err)
	}
	return rt, nil
}

// Redact returns address fit for a log: without a password in the user
// part and with the values of query parameters hidden.
func Redact(address string) string {
	u, err := url.Parse(address)
	if err != nil {
		return "<unparseable URL>"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			q.Set(k, "xxxxx")
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// LimitError is a query whose answer is over a limit: too many bytes or
// too many series. It is permanent (HTTP 422): the query, which comes from
// the spec, has to be narrowed; the tick fails the experiment with
// Error() as the reason, so that it shows in the Service's status.
type LimitError struct {
	What  string // "bytes" or "series"
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("a Prometheus query returned more than %d %s: narrow it (sum by the revision label, or select fewer series)", e.Limit, e.What)
}

// Unwrap makes a LimitError permanent for events.IsPermanent and
// events.StatusOf.
func (e *LimitError) Unwrap() error {
	return events.Permanent(http.StatusUnprocessableEntity, errors.New("query over limit"))
}

// limitBody caps each response body at max bytes.
type limitBody struct {
	next http.RoundTripper
	max  int64
}

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	next := l.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil || l.max <= 0 {
		return resp, err
	}
	if resp.ContentLength > l.max {
		resp.Body.Close()
		return nil, &LimitError{What: "bytes", Limit: l.max}
	}
	resp.Body = &cappedReader{rc: resp.Body, max: l.max, left: l.max}
	return resp, nil
}

type cappedReader struct {
	rc        io.ReadCloser
	max, left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// All that is allowed was read: one byte more is over the limit.
		var one [1]byte
		if n, err := c.rc.Read(one[:]); n > 0 {
			return 0, &LimitError{What: "bytes", Limit: c.max}
		} else {
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedReader) Close() error { return c.rc.Close() }

// seriesLimit refuses answers with more than max series.
type seriesLimit struct {
	q   Querier
	max int
}

func (s seriesLimit) Query(ctx context.Context, promql string, at time.Time) (model.Value, v1.Warnings, error) {
	v, w, err := s.q.Query(ctx, promql, at)
	if err != nil {
		return v, w, err
	}
	n := 0
	switch t := v.(type) {
	case model.Vector:
		n = len(t)
	case model.Matrix:
		n = len(t)
	}
	if s.max > 0 && n > s.max {
		return nil, w, &LimitError{What: "series", Limit: int64(s.max)}
	}
	return v, w, nil
}
