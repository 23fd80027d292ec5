package stack

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/iter8-knative/iter8/test/prometheus"
)

// pod is one revision's scrape target, as a Knative pod exposes it with
// request-metrics-protocol: prometheus and the default knative-otel
// preset's layout: the queue-proxy's OpenTelemetry histogram
// kn_serving_invocation_duration_seconds labelled with the status code,
// and the revision and namespace only on target_info, joined by the
// collector on job and instance. One target per revision is what makes
// that join work, as one pod per revision does in a cluster.
//
// The same target also serves the application's own counters, labelled
// with namespace and revision as an app reading Knative's K_REVISION would:
// <service>_requests_total and, per custom ratio metric m,
// <service>_<m>_total; per custom mean metric, the gauges
// <service>_<m>_count, _sum and _sum_squares.
type pod struct {
	revision string
	srv      *http.Server
	addr     string
	duration *promclient.HistogramVec
	requests promclient.Counter
	ratios   map[string]promclient.Counter
	means    map[string][3]promclient.Gauge
}

var notIdent = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// metricIdent turns a name into a Prometheus metric name fragment.
func metricIdent(s string) string { return notIdent.ReplaceAllString(s, "_") }

// appMetric is the application counter or gauge name of a custom metric.
func appMetric(service, metric, suffix string) string {
	return metricIdent(service) + "_" + metricIdent(metric) + suffix
}

// newPod starts a target for revision on loopback; ratios and means name
// the custom metrics whose application counters it serves.
func newPod(namespace, service, revision string, ratios, means []string) (*pod, error) {
	p := &pod{revision: revision, ratios: map[string]promclient.Counter{}, means: map[string][3]promclient.Gauge{}}
	reg := promclient.NewRegistry()
	p.duration = prometheus.QueueProxyOTel(reg, namespace, service, revision)
	app := promclient.Labels{"namespace": namespace, "revision": revision}
	p.requests = promclient.NewCounter(promclient.CounterOpts{Name: metricIdent(service) + "_requests_total", Help: "Requests the application served", ConstLabels: app})
	reg.MustRegister(p.requests)
	for _, m := range ratios {
		c := promclient.NewCounter(promclient.CounterOpts{Name: appMetric(service, m, "_total"), Help: "Requests with a " + m, ConstLabels: app})
		reg.MustRegister(c)
		p.ratios[m] = c
	}
	for _, m := range means {
		var g [3]promclient.Gauge
		for i, suffix := range []string{"_count", "_sum", "_sum_squares"} {
			g[i] = promclient.NewGauge(promclient.GaugeOpts{Name: appMetric(service, m, suffix), Help: "Running " + suffix[1:] + " of " + m, ConstLabels: app})
			reg.MustRegister(g[i])
		}
		p.means[m] = g
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.addr = ln.Addr().String()
	p.srv = &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	// Serve returns when stop shuts the server down; a target that stops
	// early shows as up == 0 and fails Settle.
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// served is what one revision served in one interval.
type served struct {
	// seconds holds each request's duration; the first failed of them
	// answered 500, the rest 200.
	seconds []float64
	failed  int64
	// ratios holds each custom ratio metric's successes; every request is
	// a trial.
	ratios map[string]int64
	// means holds each custom mean metric's count, sum and sum of squares.
	means map[string][3]float64
}

// serve records the interval's requests as the queue-proxy and the
// application would.
func (p *pod) serve(s served) {
	for i, d := range s.seconds {
		code := http.StatusOK
		if int64(i) < s.failed {
			code = http.StatusInternalServerError
		}
		p.duration.WithLabelValues(strconv.Itoa(code)).Observe(d)
	}
	p.requests.Add(float64(len(s.seconds)))
	for m, k := range s.ratios {
		p.ratios[m].Add(float64(k))
	}
	for m, v := range s.means {
		for i := range v {
			p.means[m][i].Add(v[i])
		}
	}
}

func (p *pod) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}
