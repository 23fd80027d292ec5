package prometheus

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Style is which generation of Knative's queue-proxy a Pod imitates.
type Style int

const (
	// OTel is knative.dev/serving v0.50.0: the histogram
	// kn_serving_invocation_duration_seconds labelled with
	// http_response_status_code (and the exporter's otel_scope_* labels),
	// and the revision and namespace only on target_info, as the
	// OpenTelemetry Prometheus exporter writes them.
	OTel Style = iota
	// OpenCensus is Knative before OpenTelemetry: revision_request_count
	// and the millisecond histogram revision_request_latencies, labelled
	// with the revision and namespace.
	OpenCensus
)

// KnativeLatencyBounds are the queue-proxy's histogram bounds in seconds
// (knative.dev/serving v0.50.0 pkg/queue/request_metric.go).
var KnativeLatencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// OpenCensusLatencyBounds are millisecond bounds for the OpenCensus style.
var OpenCensusLatencyBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 5000}

// Pod is a fake queue-proxy of one revision: an HTTP server on loopback
// that serves the request metrics for Prometheus to scrape. Serve records
// requests as the queue-proxy would.
type Pod struct {
	Namespace, Revision string
	style               Style
	srv                 *httptest.Server
	otel                *promclient.HistogramVec
	ocCount             *promclient.CounterVec
	ocLatency           *promclient.HistogramVec
}

// NewPod starts a fake queue-proxy; it stops when the test ends.
func NewPod(t testing.TB, style Style, namespace, revision string) *Pod {
	t.Helper()
	p := &Pod{Namespace: namespace, Revision: revision, style: style}
	reg := promclient.NewRegistry()
	switch style {
	case OTel:
		p.otel = QueueProxyOTel(reg, namespace, "", revision)
	case OpenCensus:
		labels := []string{"namespace_name", "revision_name", "response_code", "response_code_class"}
		p.ocCount = promclient.NewCounterVec(promclient.CounterOpts{Name: "revision_request_count", Help: "The number of requests that are routed to queue-proxy"}, labels)
		p.ocLatency = promclient.NewHistogramVec(promclient.HistogramOpts{
			Name: "revision_request_latencies", Help: "The response time in millisecond", Buckets: OpenCensusLatencyBounds,
		}, labels)
		reg.MustRegister(p.ocCount, p.ocLatency)
	}
	p.srv = httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(p.srv.Close)
	return p
}

// QueueProxyOTel registers on reg what a v0.50 queue-proxy of revision
// exports (the OTel style): the histogram
// kn_serving_invocation_duration_seconds, labelled with the status code,
// and target_info naming the namespace, the revision and, when service is
// not "", the Service. It returns the histogram, for requests to be
// observed on.
func QueueProxyOTel(reg promclient.Registerer, namespace, service, revision string) *promclient.HistogramVec {
	scope := promclient.Labels{"otel_scope_name": "knative.dev/serving/pkg/queue", "otel_scope_schema_url": "", "otel_scope_version": ""}
	h := promclient.NewHistogramVec(promclient.HistogramOpts{
		Name: "kn_serving_invocation_duration_seconds", Help: "The duration of task execution",
		Buckets: KnativeLatencyBounds, ConstLabels: scope,
	}, []string{"http_response_status_code"})
	labels := promclient.Labels{"k8s_namespace_name": namespace, "kn_revision_name": revision, "k8s_container_name": "queue-proxy"}
	if service != "" {
		labels["kn_service_name"] = service
	}
	info := promclient.NewGauge(promclient.GaugeOpts{Name: "target_info", Help: "Target metadata", ConstLabels: labels})
	info.Set(1)
	reg.MustRegister(h, info)
	return h
}

// Target is the pod's host:port for Prometheus's scrape config.
func (p *Pod) Target() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// Serve records n requests answered with status after the given latency in
// seconds.
func (p *Pod) Serve(n, status int, seconds float64) {
	code := strconv.Itoa(status)
	for range n {
		switch p.style {
		case OTel:
			p.otel.WithLabelValues(code).Observe(seconds)
		case OpenCensus:
			lv := []string{p.Namespace, p.Revision, code, code[:1] + "xx"}
			p.ocCount.WithLabelValues(lv...).Inc()
			p.ocLatency.WithLabelValues(lv...).Observe(seconds * 1000)
		}
	}
}

// Ledger is what a test served in one window, per revision: the
// independent record that the collected observations are checked against.
type Ledger map[string][]Request

// Request is one or more identical requests.
type Request struct {
	N       int
	Status  int
	Seconds float64
}

// Serve records the requests on the pod and in the ledger.
func (l Ledger) Serve(p *Pod, n, status int, seconds float64) {
	p.Serve(n, status, seconds)
	l[p.Revision] = append(l[p.Revision], Request{N: n, Status: status, Seconds: seconds})
}
