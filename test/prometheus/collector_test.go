package prometheus

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
)

const (
	ns       = "shop"
	service  = "checkout"
	baseline = "checkout-00001"
	canary   = "checkout-00002"
)

// join gives a custom query the revision of the OTel-style series, as the
// built-in does.
const join = ` * on (job, instance) group_left (kn_revision_name) target_info{k8s_namespace_name="{{.Namespace}}", kn_revision_name="{{.Revision}}"}`

func spec(errorsOnMissing string) events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind:       events.KindCanary,
		Baseline:   baseline,
		Candidates: []string{canary},
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio, OnMissing: errorsOnMissing},
			{Name: "latency", Type: events.MetricMean, Unit: "ms"},
			{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms", Buckets: []float64{25, 50, 100, 250, 500}},
			// Custom queries read cumulative values at the window's end,
			// which are exact, unlike increase().
			{Name: "served", Type: events.MetricMean,
				Query: `sum(last_over_time(kn_serving_invocation_duration_seconds_count[1h])` + join + `)`},
			{Name: "fast", Type: events.MetricRatio, Query: `label_replace(sum(last_over_time(kn_serving_invocation_duration_seconds_bucket{le="0.05"}[1h])` + join + `), "iter8_stat", "successes", "", "")` +
				` or label_replace(sum(last_over_time(kn_serving_invocation_duration_seconds_count[1h])` + join + `), "iter8_stat", "trials", "", "")`},
			// Nobody in this test produces conversion: the collector
			// leaves it to another producer.
			{Name: "conversion", Type: events.MetricRatio},
		},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: ptr(0.01)}},
	}
}

// legacySpec has only built-in metrics: its custom queries would name the
// OTel series.
func legacySpec() events.ExperimentSpec {
	s := spec("")
	s.Metrics = s.Metrics[:3]
	return s
}

func ptr[T any](v T) *T { return &v }

var approx = cmpopts.EquateApprox(1e-9, 0)

func TestCollectorAgainstPrometheus(t *testing.T) {
	otelBounds := expectation{boundsMs: scaledMs(KnativeLatencyBounds), buckets: []float64{25, 50, 100, 250, 500}}
	ocBounds := expectation{boundsMs: OpenCensusLatencyBounds, buckets: otelBounds.buckets}

	a := NewPod(t, OTel, ns, baseline)
	b1 := NewPod(t, OTel, ns, canary)
	b2 := NewPod(t, OTel, ns, canary)
	// The same revision name in another namespace must never be counted.
	stranger := NewPod(t, OTel, "other", baseline)
	la := NewPod(t, OpenCensus, ns, baseline)
	lb := NewPod(t, OpenCensus, ns, canary)

	// Traffic before the experiment's first window.
	cumulative, legacy := Ledger{}, Ledger{}
	cumulative.Serve(a, 3, 200, 0.02)
	cumulative.Serve(b1, 2, 200, 0.04)
	stranger.Serve(5, 200, 0.02)
	legacy.Serve(la, 3, 200, 0.02)

	prom := startT(t, []string{a.Target(), b1.Target(), b2.Target(), stranger.Target(), la.Target(), lb.Target()})
	c, err := collector.New(prom.URL())
	if err != nil {
		t.Fatal(err)
	}
	oc, err := collector.New(prom.URL(), collector.WithNames(collector.KnativeOpenCensus()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	versions := []string{baseline, canary}
	t0 := prom.Boundary()

	// Window 1: traffic on every pod.
	w1, legacy1 := Ledger{}, Ledger{}
	w1.Serve(a, 8, 200, 0.02)
	w1.Serve(a, 2, 503, 0.3)
	w1.Serve(b1, 5, 200, 0.04)
	w1.Serve(b2, 4, 200, 0.6)
	stranger.Serve(7, 500, 0.02)
	legacy1.Serve(la, 6, 200, 0.02)
	legacy1.Serve(la, 1, 500, 0.3)
	legacy1.Serve(lb, 2, 200, 0.04)
	cumulative = merge(cumulative, w1)
	t1 := prom.Boundary()

	var first events.MetricsObserved
	t.Run("a window holds exactly what was served in it", func(t *testing.T) {
		got, missing, err := c.Collect(ctx, ns, service, spec(""), versions, t0, t1)
		if err != nil {
			t.Fatal(err)
		}
		want := otelBounds.observed(spec(""), t0, t1, w1, cumulative)
		if diff := cmp.Diff(want, got, approx); diff != "" {
			t.Errorf("Collect [t0, t1) (-want +got):\n%s", diff)
		}
		if len(missing) != 0 {
			t.Errorf("missing = %+v, want none", missing)
		}
		first = got
	})
	t.Run("the OpenCensus names work the same", func(t *testing.T) {
		got, missing, err := oc.Collect(ctx, ns, service, legacySpec(), versions, t0, t1)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ocBounds.observed(legacySpec(), t0, t1, legacy1, nil), got, approx); diff != "" {
			t.Errorf("Collect [t0, t1) with KnativeOpenCensus (-want +got):\n%s", diff)
		}
		if len(missing) != 0 {
			t.Errorf("missing = %+v, want none", missing)
		}
	})
	t.Run("an unknown revision is missing, not zero", func(t *testing.T) {
		got, missing, err := c.Collect(ctx, ns, service, legacySpec(), []string{baseline, "checkout-00003"}, t0, t1)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Versions["checkout-00003"]; ok {
			t.Errorf("observations for checkout-00003: %+v", got.Versions["checkout-00003"])
		}
		var gaps []string
		for _, g := range missing {
			gaps = append(gaps, g.Version+"/"+g.Metric)
		}
		if diff := cmp.Diff([]string{"checkout-00003/errors", "checkout-00003/latency", "checkout-00003/latency-p95"}, gaps); diff != "" {
			t.Errorf("missing (-want +got):\n%s", diff)
		}
	})
	t.Run("a re-collected window is the same window", func(t *testing.T) {
		again, _, err := c.Collect(ctx, ns, service, spec(""), versions, t0, t1)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Errorf("second Collect of [t0, t1) differs (-first +second):\n%s", diff)
		}
		e1, err1 := collector.Event(ns, service, first)
		e2, err2 := collector.Event(ns, service, again)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if e1.ID() != e2.ID() || e1.ID() != events.WindowID(events.Subject(ns, service), collector.Source, first.Window) {
			t.Errorf("event ids %q and %q, want both the window id", e1.ID(), e2.ID())
		}
	})
	t.Run("Windows reads the window after the state's last one", func(t *testing.T) {
		delay := 2 * time.Second
		cw, err := collector.New(prom.URL(), collector.WithDelay(delay))
		if err != nil {
			t.Fatal(err)
		}
		s := spec("")
		got, err := cw.Windows(ctx, running(s, t0), t1.Add(delay))
		if err != nil {
			t.Fatal(err)
		}
		want := []collector.Window{{Data: first}}
		if diff := cmp.Diff(want, got, approx); diff != "" {
			t.Errorf("Windows (-want +got):\n%s", diff)
		}
	})

	// Window 2: only the baseline serves.
	w2 := Ledger{}
	w2.Serve(a, 1, 200, 0.02)
	cumulative = merge(cumulative, w2)
	t2 := prom.Boundary()

	t.Run("the next window holds only the new requests", func(t *testing.T) {
		got, missing, err := c.Collect(ctx, ns, service, spec(""), versions, t1, t2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(otelBounds.observed(spec(""), t1, t2, w2, cumulative), got, approx); diff != "" {
			t.Errorf("Collect [t1, t2) (-want +got):\n%s", diff)
		}
		want := collector.Missing{
			{Version: canary, Metric: "errors", Reason: "no requests in the window"},
			{Version: canary, Metric: "latency", Reason: "no requests in the window"},
			{Version: canary, Metric: "latency-p95", Reason: "no values in the window"},
		}
		if diff := cmp.Diff(want, missing); diff != "" {
			t.Errorf("missing (-want +got):\n%s", diff)
		}
	})
	t.Run("onMissing fail fails the window", func(t *testing.T) {
		_, missing, err := c.Collect(ctx, ns, service, spec(events.OnMissingFail), versions, t1, t2)
		if err != nil {
			t.Fatal(err)
		}
		want := collector.Missing{{Version: canary, Metric: "errors", Fail: true, Reason: "no requests in the window"}}
		if diff := cmp.Diff(want, missing.Failures()); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
		cw, err := collector.New(prom.URL(), collector.WithDelay(0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = cw.Windows(ctx, running(spec(events.OnMissingFail), t1), t2)
		var me *collector.MissingError
		if !errors.As(err, &me) || !events.IsPermanent(err) || events.StatusOf(err) != http.StatusUnprocessableEntity {
			t.Errorf("Windows error = %v, want a permanent *MissingError (422)", err)
		}
	})

	// An outage: requests before, during and after Prometheus is down.
	w3 := Ledger{}
	w3.Serve(a, 2, 200, 0.02)
	prom.Stop()
	t.Run("Prometheus down is a transient error", func(t *testing.T) {
		_, _, err := c.Collect(ctx, ns, service, spec(""), versions, t2, time.Now())
		if err == nil || events.IsPermanent(err) || events.StatusOf(err) != http.StatusServiceUnavailable {
			t.Errorf("Collect with Prometheus down: error %v (status %d), want transient 503", err, events.StatusOf(err))
		}
	})
	w3.Serve(a, 3, 503, 0.3)
	w3.Serve(b2, 1, 200, 0.6)
	cumulative = merge(cumulative, w3)
	prom.Restart()
	t3 := prom.Boundary()
	t.Run("after a restart the window since the last success catches up", func(t *testing.T) {
		got, missing, err := c.Collect(ctx, ns, service, spec(""), versions, t2, t3)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(otelBounds.observed(spec(""), t2, t3, w3, cumulative), got, approx); diff != "" {
			t.Errorf("Collect [t2, t3) across the outage (-want +got):\n%s", diff)
		}
		if len(missing) != 0 {
			t.Errorf("missing = %+v, want none", missing)
		}
	})
}

// record is an experiment as the store would read it, its last window
// ending at windowEnd.
// running is an experiment of spec whose collector has collected up to
// collected. Which experiments are collected is the functions' business
// (functions.collection).
func running(s events.ExperimentSpec, collected time.Time) collector.Experiment {
	return collector.Experiment{Namespace: ns, Service: service, Spec: s, Versions: s.Versions(), Since: collected}
}

func scaledMs(seconds []float64) []float64 {
	out := make([]float64, len(seconds))
	for i, s := range seconds {
		out[i] = s * 1000
	}
	return out
}
