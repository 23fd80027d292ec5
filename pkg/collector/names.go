package collector

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Names says where the queue-proxy's request metrics are in Prometheus and
// how their series name a revision. The defaults come from knative.dev/serving
// v0.50.0: its queue-proxy records the OpenTelemetry histogram
// kn.serving.invocation.duration (seconds, attribute
// http.response.status_code) around every proxied request, and
// knative.dev/pkg exports it with the OpenTelemetry Prometheus exporter's
// UnderscoreEscapingWithSuffixes translation. The revision and namespace are
// resource attributes, which that exporter writes only to target_info.
type Names struct {
	// Requests counts every request: a plain counter or a histogram's
	// _count.
	Requests string
	// ErrorMatcher is a PromQL label matcher that selects the failed
	// requests among Requests' series.
	ErrorMatcher string
	// LatencyCount, LatencySum and LatencyBucket are the latency
	// histogram's series.
	LatencyCount  string
	LatencySum    string
	LatencyBucket string
	// LatencyUnit is the unit of the latency values and bucket bounds:
	// "s", "ms" or "us".
	LatencyUnit string
	// RevisionLabel and NamespaceLabel name a series' revision and
	// namespace, on the series themselves or, when Info is set, on Info.
	RevisionLabel  string
	NamespaceLabel string
	// Info, when set, is a per-target info metric (value 1) that carries
	// RevisionLabel and NamespaceLabel; the request series get them by a
	// join on JoinLabels. Empty when the labels are on the series.
	Info       string
	JoinLabels []string
}

// KnativeOTel is the default: Knative Serving with OpenTelemetry metrics
// (knative.dev/serving v0.50.0), its queue-proxies' metrics port scraped
// directly (port name http-usermetric, 9091). Revisions come from
// target_info by a join on job and instance.
func KnativeOTel() Names {
	return Names{
		Requests:       "kn_serving_invocation_duration_seconds_count",
		ErrorMatcher:   `http_response_status_code=~"5.."`,
		LatencyCount:   "kn_serving_invocation_duration_seconds_count",
		LatencySum:     "kn_serving_invocation_duration_seconds_sum",
		LatencyBucket:  "kn_serving_invocation_duration_seconds_bucket",
		LatencyUnit:    "s",
		RevisionLabel:  "kn_revision_name",
		NamespaceLabel: "k8s_namespace_name",
		Info:           "target_info",
		JoinLabels:     []string{"job", "instance"},
	}
}

// KnativeOTelLabels is KnativeOTel where the revision and namespace are on
// every series: an OpenTelemetry Collector exporting with
// resource_to_telemetry_conversion, Prometheus's OTLP receiver promoting
// kn.revision.name and k8s.namespace.name, or scrape relabelling that
// writes these label names.
func KnativeOTelLabels() Names {
	n := KnativeOTel()
	n.Info, n.JoinLabels = "", nil
	return n
}

// KnativeOTelV046 is KnativeOTel for Knative Serving v0.46 and v0.47
// (Knative 1.16 and 1.17), whose queue-proxy records the same histogram
// under the name kn.queueproxy.app.duration (seconds, attribute
// http.response.status_code; knative.dev/serving v0.46.0
// pkg/queue/request_metric.go).
func KnativeOTelV046() Names {
	n := KnativeOTel()
	n.Requests = "kn_queueproxy_app_duration_seconds_count"
	n.LatencyCount = "kn_queueproxy_app_duration_seconds_count"
	n.LatencySum = "kn_queueproxy_app_duration_seconds_sum"
	n.LatencyBucket = "kn_queueproxy_app_duration_seconds_bucket"
	return n
}

// KnativeOpenCensus is Knative Serving before OpenTelemetry: the
// queue-proxy's revision_request_count and revision_request_latencies
// (milliseconds), labelled with the revision and namespace.
func KnativeOpenCensus() Names {
	return Names{
		Requests:       "revision_request_count",
		ErrorMatcher:   `response_code_class="5xx"`,
		LatencyCount:   "revision_request_latencies_count",
		LatencySum:     "revision_request_latencies_sum",
		LatencyBucket:  "revision_request_latencies_bucket",
		LatencyUnit:    "ms",
		RevisionLabel:  "revision_name",
		NamespaceLabel: "namespace_name",
	}
}

// Presets are the Names a deployment can pick by name
// (ITER8_PROMETHEUS_PRESET).
var Presets = map[string]func() Names{
	"knative-otel":        KnativeOTel,
	"knative-otel-labels": KnativeOTelLabels,
	"knative-otel-v0.46":  KnativeOTelV046,
	"knative-opencensus":  KnativeOpenCensus,
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	// matcher is one PromQL label matcher with a double-quoted value.
	matcher = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"([^"\\]|\\.)*"$`)
)

// Validate checks that every name can be spliced into PromQL, so that a
// misconfiguration fails at start-up rather than as a query error later.
func (n Names) Validate() error {
	var problems []string
	for _, f := range []struct{ field, v string }{
		{"Requests", n.Requests}, {"LatencyCount", n.LatencyCount},
		{"LatencySum", n.LatencySum}, {"LatencyBucket", n.LatencyBucket},
	} {
		if !metricName.MatchString(f.v) {
			problems = append(problems, fmt.Sprintf("%s %q is not a metric name", f.field, f.v))
		}
	}
	for _, f := range []struct{ field, v string }{
		{"RevisionLabel", n.RevisionLabel}, {"NamespaceLabel", n.NamespaceLabel},
	} {
		if !labelName.MatchString(f.v) {
			problems = append(problems, fmt.Sprintf("%s %q is not a label name", f.field, f.v))
		}
	}
	if !matcher.MatchString(n.ErrorMatcher) {
		problems = append(problems, fmt.Sprintf(`ErrorMatcher %q is not one label matcher such as code=~"5.."`, n.ErrorMatcher))
	}
	if _, ok := unitScale[n.LatencyUnit]; !ok {
		problems = append(problems, fmt.Sprintf("LatencyUnit %q: want s, ms or us", n.LatencyUnit))
	}
	if n.Info != "" {
		if !metricName.MatchString(n.Info) {
			problems = append(problems, fmt.Sprintf("Info %q is not a metric name", n.Info))
		}
		if len(n.JoinLabels) == 0 {
			problems = append(problems, "JoinLabels: required with Info")
		}
		for _, l := range n.JoinLabels {
			if !labelName.MatchString(l) {
				problems = append(problems, fmt.Sprintf("JoinLabels: %q is not a label name", l))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("prometheus names: %s", strings.Join(problems, "; "))
	}
	return nil
}

// unitScale is each supported time unit in seconds.
var unitScale = map[string]float64{"s": 1, "ms": 1e-3, "us": 1e-6}

// latencyScale returns the factor that converts latency values from the
// source unit into a metric's unit; a metric without a unit keeps the
// source's.
func latencyScale(source, metric string) (float64, error) {
	if metric == "" {
		return 1, nil
	}
	to, ok := unitScale[metric]
	if !ok {
		return 0, fmt.Errorf("unit %q: the built-in latency converts only to s, ms or us", metric)
	}
	return unitScale[source] / to, nil
}

// lastValues returns the PromQL that yields, per series of metric (further
// selected by extra, a label matcher or ""), the last sample in the
// lookback before the evaluation time, labelled with the revision: the
// value of the counter "at" that time. last_over_time, unlike an instant
// selector, still sees a series that went stale inside the window, such as
// a pod scaled away, so its last increments are not lost.
func (n Names) lastValues(metric, extra, ns string, revisions []string, lookback time.Duration) string {
	scope := fmt.Sprintf(`%s=%q,%s=~%q`, n.NamespaceLabel, ns, n.RevisionLabel, alternation(revisions))
	rng := promDuration(lookback)
	if n.Info == "" {
		sel := scope
		if extra != "" {
			sel += "," + extra
		}
		return fmt.Sprintf("last_over_time(%s{%s}[%s])", metric, sel, rng)
	}
	// The info side is an instant selector: a target's info series goes
	// stale with the target, so a reused address never matches two
	// revisions at once.
	left := metric
	if extra != "" {
		left += "{" + extra + "}"
	}
	return fmt.Sprintf("last_over_time(%s[%s]) * on (%s) group_left (%s, %s) %s{%s}",
		left, rng, strings.Join(n.JoinLabels, ", "), n.RevisionLabel, n.NamespaceLabel, n.Info, scope)
}

// alternation is an anchored regular expression matching exactly the given
// names (Prometheus anchors =~ itself).
func alternation(names []string) string {
	q := make([]string, len(names))
	for i, s := range names {
		q[i] = regexp.QuoteMeta(s)
	}
	return strings.Join(q, "|")
}

// promDuration writes d as a PromQL duration: whole seconds when exact,
// else milliseconds (PromQL's finest unit).
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
}
