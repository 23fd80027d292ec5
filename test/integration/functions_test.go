package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// functionsServer runs the real functions server on loopback against the
// shared API server and returns its URL.
func functionsServer(t *testing.T, c *cluster.Cluster, opts ...functions.Option) string {
	t.Helper()
	sv := servingclient.NewForConfigOrDie(c.Config)
	st := store.New(sv.ServingV1())
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	h := functions.New(st, append([]functions.Option{functions.WithLogger(log)}, opts...)...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- functions.NewServer(h, st).Serve(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// post sends a CloudEvent in binary mode and returns the status, the reply
// event (if any) and the body of an error.
func post(t *testing.T, url string, e cloudevents.Event) (int, *cloudevents.Event, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(e.Data()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", e.ID())
	req.Header.Set("Ce-Type", e.Type())
	req.Header.Set("Ce-Source", e.Source())
	req.Header.Set("Ce-Subject", e.Subject())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if t := resp.Header.Get("Ce-Type"); t != "" {
		r := cloudevents.NewEvent()
		r.SetType(t)
		r.SetID(resp.Header.Get("Ce-Id"))
		r.SetSource(resp.Header.Get("Ce-Source"))
		r.SetSubject(resp.Header.Get("Ce-Subject"))
		_ = r.SetData(cloudevents.ApplicationJSON, json.RawMessage(body))
		return resp.StatusCode, &r, ""
	}
	return resp.StatusCode, nil, string(body)
}

func newEvent(t *testing.T, typ, id, subject string, data any) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("/test/integration")
	e.SetSubject(subject)
	if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	return e
}

const canarySpec = `{
  "kind": "canary", "baseline": "shop-v1", "candidates": ["shop-v2"],
  "metrics": [{"name": "errors", "type": "ratio"}, {"name": "latency", "type": "mean", "unit": "ms", "max": 1000}],
  "objectives": [{"metric": "errors", "upperLimit": 0.01}, {"metric": "latency", "upperLimit": 100}],
  "limits": {"minSamples": 200}
}`

// window builds a metrics window: per version, requests with the given
// error count and latencies around 50 ms.
func window(i int, perVersion map[string][2]int64) events.MetricsObserved {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	m := events.NewMetricsObserved(start, start.Add(time.Minute))
	for v, re := range perVersion {
		n, errs := re[0], re[1]
		m.Set(v, "errors", events.Ratio(errs, n))
		// Latencies of 45 and 55 ms, alternately: mean 50, sd 5.
		m.Set(v, "latency", events.Mean(n, 50*float64(n), float64(n)*(50*50+25)))
	}
	return m
}

// TestFunctionsCanaryEndToEnd posts real HTTP CloudEvents to the functions
// server: a start, then metrics windows until the experiment completes,
// checking the Service's traffic and annotations after every step.
func TestFunctionsCanaryEndToEnd(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.DeployRevisions(ctx, ns, "shop", image, "v1", "v2"); err != nil {
		t.Fatal(err)
	}
	url := functionsServer(t, c)
	subject := ns + "/shop"

	status, reply, body := post(t, url, newEvent(t, events.TypeExperimentStart, "start-1", subject, json.RawMessage(canarySpec)))
	if status != http.StatusOK || reply == nil || reply.Type() != events.TypeExperimentStarted {
		t.Fatalf("start: status %d, reply %v, body %s", status, reply, body)
	}
	st := store.New(servingclient.NewForConfigOrDie(c.Config).ServingV1())
	checkConsistent := func(step string) store.Record {
		t.Helper()
		r, err := st.Get(ctx, ns, "shop")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if r.State == nil {
			t.Fatalf("%s: no state on the Service", step)
		}
		if r.State.Traffic != nil {
			if diff := cmp.Diff(r.State.Traffic, store.Split(r.Service)); diff != "" {
				t.Fatalf("%s: spec.traffic differs from the state's split (-state +service):\n%s", step, diff)
			}
		}
		if s := r.Service.Annotations[store.AnnotationStatus]; !strings.Contains(s, string(r.State.Phase)) {
			t.Fatalf("%s: status annotation %q does not say the phase %s", step, s, r.State.Phase)
		}
		if got := r.Service.Labels[store.LabelPhase]; got != strings.ToLower(string(r.State.Phase)) {
			t.Fatalf("%s: phase label %q, want %q", step, got, strings.ToLower(string(r.State.Phase)))
		}
		return r
	}
	r := checkConsistent("after start")
	if got := r.State.Traffic; got["shop-v2"] != 10 || got["shop-v1"] != 90 {
		t.Fatalf("initial split %v, want shop-v1=90 shop-v2=10", got)
	}

	// A second start while one runs is refused, permanently.
	status, _, body = post(t, url, newEvent(t, events.TypeExperimentStart, "start-2", subject, json.RawMessage(canarySpec)))
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "already") {
		t.Fatalf("second start: status %d body %q, want 422 naming the running experiment", status, body)
	}

	maxCandidate := 10
	for i := 0; i < 60; i++ {
		cand := int64(r.State.Traffic["shop-v2"]) * 20
		base := int64(r.State.Traffic["shop-v1"]) * 20
		w := window(i, map[string][2]int64{"shop-v1": {base, 0}, "shop-v2": {cand, 0}})
		status, reply, body = post(t, url, newEvent(t, events.TypeMetricsObserved, fmt.Sprintf("w-%d", i), subject, w))
		if status != http.StatusOK {
			t.Fatalf("window %d: status %d body %s", i, status, body)
		}
		r = checkConsistent(fmt.Sprintf("window %d", i))
		if p := r.State.Traffic["shop-v2"]; p < maxCandidate && r.State.Phase == "Running" {
			t.Fatalf("window %d: a healthy candidate lost traffic: %d%% after %d%%", i, p, maxCandidate)
		} else {
			maxCandidate = max(maxCandidate, p)
		}
		// A duplicate of the same window changes nothing iter8 owns. The
		// resourceVersion is no witness: the Serving controller writes the
		// Service's status whenever it likes.
		before := iter8Owned(r.Service)
		if status, _, _ = post(t, url, newEvent(t, events.TypeMetricsObserved, fmt.Sprintf("w-%d", i), subject, w)); status != http.StatusOK && status != http.StatusAccepted {
			t.Fatalf("duplicate window %d: status %d", i, status)
		}
		if diff := cmp.Diff(before, iter8Owned(checkConsistent("duplicate").Service)); diff != "" {
			t.Fatalf("window %d: a duplicate was written (-before +after):\n%s", i, diff)
		}
		if r.State.Phase == "Completed" {
			if reply == nil || reply.Type() != events.TypeExperimentCompleted {
				t.Errorf("completion reply %v, want %s", reply, events.TypeExperimentCompleted)
			}
			break
		}
	}
	if r.State.Phase != "Completed" || r.State.Outcome != events.OutcomePromoted || r.State.Winner != "shop-v2" {
		t.Fatalf("after the windows: phase %s outcome %q winner %q (%s), want Completed promoted shop-v2",
			r.State.Phase, r.State.Outcome, r.State.Winner, r.State.Reason)
	}
	if diff := cmp.Diff(map[string]int{"shop-v1": 0, "shop-v2": 100}, store.Split(r.Service)); diff != "" {
		t.Errorf("final traffic (-want +got):\n%s", diff)
	}
	// The write of the final state also left the candidate for the next
	// canary's ETA: its errors (the spec's one ratio metric) exactly as
	// the final state counts them.
	cand := r.State.Data[1][0]
	want := []experiment.Past{{ID: r.State.ID, Outcome: r.State.Outcome, Ended: r.State.Since,
		Ratios: map[string]experiment.Count{"errors": {Successes: cand.Successes, Trials: cand.Trials}}}}
	if diff := cmp.Diff(want, r.Past); diff != "" || r.PastErr != nil {
		t.Errorf("annotation %s (%v) (-final state +annotation):\n%s", store.AnnotationPast, r.PastErr, diff)
	}
	svc, err := servingclient.NewForConfigOrDie(c.Config).ServingV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("completed at iteration %d: %s", r.State.Iteration, svc.Annotations[store.AnnotationStatus])
}

// testWriter sends the server's logs to the test's log, shown on failure.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// iter8Owned is what iter8 writes to a Service: its spec (generation and
// traffic) and its annotations and labels.
func iter8Owned(svc *servingv1.Service) map[string]any {
	return map[string]any{
		"generation":  svc.Generation,
		"traffic":     svc.Spec.Traffic,
		"annotations": svc.Annotations,
		"labels":      svc.Labels,
	}
}
