package load

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/iter8-knative/iter8/events"
)

// Defaults of the ceiling (see FromEnv).
const (
	// DefaultMaxRate is the highest rate a burst is sent at, whatever the
	// spec asks: a little above what one generator was measured to keep
	// up with on a 2-core machine (docs/benchmarks.md, "load").
	DefaultMaxRate = 1000.0
	// DefaultMaxBurst is the longest burst (warm-up included): well inside
	// a tick's deadline (5/6 of Knative's 30 s timeoutSeconds), so that
	// the window is written before the tick is cut off.
	DefaultMaxBurst = 15 * time.Second
	// MaxRequestTimeout bounds one request; a burst's requests get the
	// smaller of it and a third of the time the burst has.
	MaxRequestTimeout = 10 * time.Second
	// margin is kept of a burst's deadline for folding its window in.
	margin = 5 * time.Second
	// Behind is the share of the requested rate below which a burst is
	// reported as one the generator could not keep up with.
	Behind = 0.95
)

// Generator sends bursts of load. Build it with New; it is safe for
// concurrent use and holds no state between bursts.
type Generator struct {
	maxRate  float64
	maxBurst time.Duration
	// transport makes each burst's transport; tests may substitute one.
	transport func(concurrency int) http.RoundTripper
	now       func() time.Time
}

// Option configures a Generator.
type Option func(*Generator)

// WithMaxRate caps the rate of every burst (requests/s).
func WithMaxRate(r float64) Option { return func(g *Generator) { g.maxRate = r } }

// WithMaxBurst caps the length of every burst, warm-up included.
func WithMaxBurst(d time.Duration) Option { return func(g *Generator) { g.maxBurst = d } }

// WithTransport makes the HTTP transport of each burst; by default a
// fresh http.Transport that honours HTTP_PROXY (as cluster DNS would be
// stood in for locally) with at most concurrency connections.
func WithTransport(f func(concurrency int) http.RoundTripper) Option {
	return func(g *Generator) { g.transport = f }
}

// New returns a Generator with the default ceiling, changed by opts.
func New(opts ...Option) (*Generator, error) {
	g := &Generator{maxRate: DefaultMaxRate, maxBurst: DefaultMaxBurst, transport: defaultTransport, now: time.Now}
	for _, o := range opts {
		o(g)
	}
	if math.IsNaN(g.maxRate) || g.maxRate <= 0 || g.maxBurst <= 0 {
		return nil, fmt.Errorf("load generator: max rate %v and max burst %s must be > 0", g.maxRate, g.maxBurst)
	}
	return g, nil
}

func defaultTransport(concurrency int) http.RoundTripper {
	return &http.Transport{Proxy: http.ProxyFromEnvironment, MaxConnsPerHost: concurrency,
		MaxIdleConnsPerHost: concurrency, IdleConnTimeout: 30 * time.Second, ForceAttemptHTTP2: false}
}

// Target is one burst's aim: the experiment and the version to load.
type Target struct {
	// Namespace and Service name the Knative Service.
	Namespace, Service string
	// Spec is the experiment's spec, with a load block.
	Spec events.ExperimentSpec
	// Version is the revision to load and TagURL its tag URL from the
	// Route's status.traffic.
	Version, TagURL string
	// First is true for the experiment's first burst: only it is
	// preceded by the warm-up.
	First bool
}

// plan is a burst as it will run: the spec's load after the ceiling and
// the deadline.
type plan struct {
	url, method string
	header      http.Header
	body        []byte
	rate        float64
	concurrency int
	length      time.Duration // 0 with requests set
	requests    int64
	warmUp      time.Duration
	timeout     time.Duration
	capped      []string
}

// URL resolves the load's target against the version's tag URL, refusing
// any other host: the generator only ever loads the experiment's own
// version.
func URL(target, tagURL string) (string, error) {
	tag, err := url.Parse(tagURL)
	if err != nil || tag.Host == "" || (tag.Scheme != "http" && tag.Scheme != "https") {
		return "", fmt.Errorf("tag URL %q is not an http(s) URL", tagURL)
	}
	t, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("load target %q: %w", target, err)
	}
	if t.IsAbs() || t.Host != "" {
		if !strings.EqualFold(t.Host, tag.Host) || (t.Scheme != "http" && t.Scheme != "https") || t.User != nil {
			return "", fmt.Errorf("load target %q is not on the version's tag host %q: refused", target, tag.Host)
		}
		return t.String(), nil
	}
	if !strings.HasPrefix(target, "/") {
		return "", fmt.Errorf("load target %q is neither a path starting with / nor a URL on the tag host %q", target, tag.Host)
	}
	out := *tag
	out.Path, out.RawPath, out.RawQuery, out.Fragment = t.Path, t.RawPath, t.RawQuery, ""
	return out.String(), nil
}

// planFor works out the burst for x within ctx's deadline.
func (g *Generator) planFor(ctx context.Context, x Target) (plan, error) {
	if x.Spec.Load == nil {
		return plan{}, fmt.Errorf("experiment %s has no load block", events.Subject(x.Namespace, x.Service))
	}
	l := x.Spec.Load.Defaulted()
	u, err := URL(l.Target, x.TagURL)
	if err != nil {
		return plan{}, err
	}
	p := plan{url: u, method: l.Method, header: http.Header{}, body: []byte(l.Body), rate: l.Rate,
		concurrency: l.Concurrency, requests: l.Requests}
	for k, v := range l.Headers {
		p.header.Set(k, v)
	}
	if l.Duration != nil {
		p.length = l.Duration.Duration
	}
	if x.First && l.WarmUp != nil {
		p.warmUp = l.WarmUp.Duration
	}
	if p.rate > g.maxRate {
		p.capped = append(p.capped, fmt.Sprintf("rate %v capped at %v requests/s", p.rate, g.maxRate))
		p.rate = g.maxRate
	}
	length := l.BurstLength()
	if p.requests > 0 {
		length = time.Duration(float64(p.requests) / p.rate * float64(time.Second))
	}
	budget := g.maxBurst
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, dl.Sub(g.now())-margin)
	}
	p.timeout = min(MaxRequestTimeout, budget/3)
	room := budget - p.timeout
	if p.warmUp+length > room {
		p.capped = append(p.capped, fmt.Sprintf("burst of %s (warm-up %s) cut to %s to fit the ceiling and deadline", length, p.warmUp, room))
		p.warmUp = min(p.warmUp, room/4)
		length = room - p.warmUp
		if p.requests > 0 {
			p.requests = max(1, int64(length.Seconds()*p.rate))
		} else {
			p.length = length
		}
	}
	if length <= 0 || p.timeout <= 0 {
		return plan{}, fmt.Errorf("no time left for a burst before the deadline (budget %s)", budget)
	}
	return p, nil
}

// attack runs one constant-rate attack of p and hands every result to
// add. Requests stop being sent when the burst's length or count is
// reached or ctx ends; those in flight finish within p.timeout.
func (g *Generator) attack(ctx context.Context, p plan, length time.Duration, requests int64, name string, add func(*vegeta.Result)) {
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: p.method, URL: p.url, Body: p.body, Header: p.header})
	client := &http.Client{Transport: g.transport(p.concurrency), Timeout: p.timeout}
	if t, ok := client.Transport.(interface{ CloseIdleConnections() }); ok {
		defer t.CloseIdleConnections()
	}
	a := vegeta.NewAttacker(vegeta.Client(client), vegeta.Redirects(vegeta.NoFollow),
		vegeta.Workers(uint64(min(p.concurrency, 8))), vegeta.MaxWorkers(uint64(p.concurrency)))
	var pacer vegeta.Pacer = rateOf(p.rate)
	if requests > 0 {
		pacer = countPacer{Pacer: pacer, n: uint64(requests)}
		length = 0
	}
	stop := context.AfterFunc(ctx, func() { a.Stop() })
	defer stop()
	for r := range a.Attack(tr, pacer, length, name) {
		add(r)
	}
}

// rateOf is vegeta's constant pacer for a rate that need not be whole.
func rateOf(perSecond float64) vegeta.Rate {
	return vegeta.Rate{Freq: int(math.Round(perSecond * 1000)), Per: 1000 * time.Second}
}

// countPacer is a pacer that stops after n hits: a burst of a request
// count rather than a duration.
type countPacer struct {
	vegeta.Pacer
	n uint64
}

func (c countPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= c.n {
		return 0, true
	}
	return c.Pacer.Pace(elapsed, hits)
}

// Ceiling describes the generator's caps, for its start-up log.
func (g *Generator) Ceiling() string {
	return fmt.Sprintf("%v requests/s, bursts of %s", g.maxRate, g.maxBurst)
}
