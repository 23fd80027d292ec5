package events

import (
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// LoadSpec asks iter8 to bring its own load to a performance experiment,
// for a version that serves no live traffic (a staging Service): on every
// PingSource tick the functions send one bounded burst of requests to the
// version's tag URL and fold what they measured in as a metrics window
// (docs/experiments.md, "Load"). Zero values take the defaults
// LoadSpec.Defaulted documents.
type LoadSpec struct {
	// Target is a path (with an optional query) on the version's tag URL,
	// or an absolute http(s) URL whose host must be that tag URL's host;
	// any other host is refused when the load runs. Default "/".
	Target string `json:"target,omitempty"`
	// Rate is the requests per second of a burst.
	Rate float64 `json:"rate,omitempty"`
	// Concurrency caps the requests in flight at once.
	Concurrency int `json:"concurrency,omitempty"`
	// Duration is the length of one burst; Requests instead sends that
	// many requests a burst, at Rate. Set at most one.
	Duration *Duration `json:"duration,omitempty"`
	Requests int64     `json:"requests,omitempty"`
	// Method, Headers and Body shape every request.
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// WarmUp is load sent before the first counted burst and never
	// counted: it wakes a revision scaled to zero and fills its caches.
	WarmUp *Duration `json:"warmUp,omitempty"`
}

// Defaults and bounds of a load block. The bounds are sanity limits on
// what a spec may ask; the functions cap rate and burst length further
// with their own configurable ceiling (ITER8_LOAD_MAX_RATE,
// ITER8_LOAD_MAX_BURST).
const (
	DefaultLoadTarget      = "/"
	DefaultLoadRate        = 10.0
	DefaultLoadConcurrency = 32
	DefaultLoadDuration    = 10 * time.Second
	DefaultLoadMethod      = http.MethodGet
	MaxLoadRate            = 10_000.0
	MaxLoadConcurrency     = 1_000
	MaxLoadDuration        = 5 * time.Minute
	MaxLoadRequests        = 1_000_000
	MaxLoadBody            = 64 << 10
	MaxLoadHeaders         = 32
	MaxLoadTarget          = 2048
)

// loadMethods are the methods a load may use.
var loadMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// Defaulted fills in a load block: target "/", rate 10 requests/s,
// concurrency 32, method GET, and a 10s burst when neither duration nor
// requests is set.
func (l LoadSpec) Defaulted() LoadSpec {
	d := l.clone()
	if d.Target == "" {
		d.Target = DefaultLoadTarget
	}
	if d.Rate == 0 {
		d.Rate = DefaultLoadRate
	}
	if d.Concurrency == 0 {
		d.Concurrency = DefaultLoadConcurrency
	}
	if d.Method == "" {
		d.Method = DefaultLoadMethod
	}
	if d.Duration == nil && d.Requests == 0 {
		d.Duration = &Duration{DefaultLoadDuration}
	}
	return d
}

// BurstLength is how long one burst of a defaulted block lasts: its
// duration, or its requests at its rate.
func (l LoadSpec) BurstLength() time.Duration {
	if l.Duration != nil {
		return l.Duration.Duration
	}
	if l.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(l.Requests) / l.Rate * float64(time.Second))
}

func (l LoadSpec) clone() LoadSpec {
	d := l
	if l.Headers != nil {
		d.Headers = make(map[string]string, len(l.Headers))
		maps.Copy(d.Headers, l.Headers)
	}
	if l.Duration != nil {
		v := *l.Duration
		d.Duration = &v
	}
	if l.WarmUp != nil {
		v := *l.WarmUp
		d.WarmUp = &v
	}
	return d
}

// Built-in metric sources: what iter8 itself can measure of a version's
// requests, by the metric's name and type. The metrics collector reads
// them from Prometheus, the load generator from its own requests.
const (
	BuiltinErrors  = "errors"
	BuiltinLatency = "latency"
)

// Builtin says which built-in measurement metric m is: BuiltinErrors for a
// ratio metric named "errors" (the share of failed requests),
// BuiltinLatency for a mean or quantile metric named "latency" or
// "latency-<anything>", else "".
func (m MetricSpec) Builtin() string {
	switch {
	case m.Name == "errors" && m.Type == MetricRatio:
		return BuiltinErrors
	case (m.Name == "latency" || strings.HasPrefix(m.Name, "latency-")) && (m.Type == MetricMean || m.Type == MetricQuantile):
		return BuiltinLatency
	}
	return ""
}

// latencyUnits are the units a generated latency can be written in.
var latencyUnits = []string{"", "s", "ms", "us"}

// validateLoad checks the load block of a defaulted spec.
func (d ExperimentSpec) validateLoad(errs *FieldErrors, kindKnown bool) {
	if d.Load == nil {
		return
	}
	p := Field(specPath, "load")
	if kindKnown && d.Kind != KindPerformance {
		errs.Add(p, "only performance experiments take a load block: the other kinds decide on the traffic their split routes, which generated load would bypass")
	}
	measured := 0
	for i, m := range d.Metrics {
		mp := Index(Field(specPath, "metrics"), i)
		if m.Query != "" {
			errs.Add(Field(mp, "query"), "an experiment with a load block measures its metrics on the generated requests, not in Prometheus; drop the query")
		}
		if m.Builtin() == BuiltinLatency && !slices.Contains(latencyUnits, m.Unit) {
			errs.Add(Field(mp, "unit"), "the load generator writes latency in s, ms (default) or us, got %s", Quote(m.Unit, MaxEcho))
		}
		if m.Builtin() != "" {
			measured++
		}
	}
	if len(d.Metrics) > 0 && measured == 0 {
		errs.Add(Field(specPath, "metrics"), "the load generator measures only the metrics named errors (ratio) and latency or latency-* (mean, quantile); declare at least one")
	}
	l := d.Load.Defaulted()
	if err := checkLoadTarget(l.Target); err != "" {
		errs.Add(Field(p, "target"), "%s", err)
	}
	if math.IsNaN(l.Rate) || l.Rate <= 0 || l.Rate > MaxLoadRate {
		errs.Add(Field(p, "rate"), "must be in (0, %v] requests per second, got %v", MaxLoadRate, l.Rate)
	}
	if l.Concurrency < 1 || l.Concurrency > MaxLoadConcurrency {
		errs.Add(Field(p, "concurrency"), "must be in [1, %d], got %d", MaxLoadConcurrency, l.Concurrency)
	}
	switch {
	case l.Duration != nil && l.Requests != 0:
		errs.Add(Field(p, "requests"), "set duration or requests, not both")
	case l.Duration != nil && (l.Duration.Duration <= 0 || l.Duration.Duration > MaxLoadDuration):
		errs.Add(Field(p, "duration"), "must be in (0, %s], got %s", MaxLoadDuration, l.Duration.Duration)
	case l.Duration == nil && (l.Requests < 1 || l.Requests > MaxLoadRequests):
		errs.Add(Field(p, "requests"), "must be in [1, %d], got %d", MaxLoadRequests, l.Requests)
	}
	if l.WarmUp != nil && (l.WarmUp.Duration < 0 || l.WarmUp.Duration > MaxLoadDuration) {
		errs.Add(Field(p, "warmUp"), "must be in [0, %s], got %s", MaxLoadDuration, l.WarmUp.Duration)
	}
	if !slices.Contains(loadMethods, l.Method) {
		errs.Add(Field(p, "method"), "must be one of %s, got %s", strings.Join(loadMethods, ", "), Quote(l.Method, MaxEcho))
	}
	if len(l.Body) > MaxLoadBody {
		errs.Add(Field(p, "body"), "at most %d bytes, got %d", MaxLoadBody, len(l.Body))
	}
	if len(l.Headers) > MaxLoadHeaders {
		errs.Add(Field(p, "headers"), "at most %d headers, got %d", MaxLoadHeaders, len(l.Headers))
	}
	for _, k := range slices.Sorted(maps.Keys(l.Headers)) {
		hp := Field(Field(p, "headers"), k)
		switch {
		case !httpguts.ValidHeaderFieldName(k):
			errs.Add(hp, "%s is not an HTTP header name", Quote(k, MaxEcho))
		case strings.EqualFold(k, "Host"):
			errs.Add(hp, "the load goes to the version's tag host only; Host cannot be set")
		case !httpguts.ValidHeaderFieldValue(l.Headers[k]):
			errs.Add(hp, "not a valid HTTP header value")
		}
	}
}

// checkLoadTarget returns what is wrong with a target, or "".
func checkLoadTarget(t string) string {
	if len(t) > MaxLoadTarget {
		return "at most " + strconv.Itoa(MaxLoadTarget) + " characters"
	}
	u, err := url.Parse(t)
	if err != nil {
		return "not a URL or path: " + Clip(err.Error(), MaxEcho)
	}
	switch {
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(t, "/"):
		return ""
	case u.Scheme != "http" && u.Scheme != "https":
		return "a path starting with / or an http(s) URL on the version's tag host, got " + Quote(t, MaxEcho)
	case u.Host == "" || u.User != nil:
		return "an http(s) URL needs a host and no user info, got " + Quote(t, MaxEcho)
	}
	return ""
}
