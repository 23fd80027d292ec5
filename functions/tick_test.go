package functions

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

const shortSpec = `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.01}],
 "limits":{"maxDuration":"1m"}}`

// tickFixture starts an experiment with a one-minute maxDuration on Service
// shop in each namespace, and returns the clientset and a clock to move.
func tickFixture(t *testing.T, namespaces ...string) (*fake.Clientset, *time.Time) {
	t.Helper()
	var objs []runtime.Object
	for _, ns := range namespaces {
		svc := service("shop", true)
		svc.Namespace = ns
		objs = append(objs, svc)
		for _, r := range []string{"shop-v1", "shop-v2"} {
			rev := revision("shop", r)
			rev.Namespace = ns
			objs = append(objs, rev)
		}
	}
	cs := fake.NewSimpleClientset(objs...)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := New(store.New(cs.ServingV1()), WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	for _, ns := range namespaces {
		e := cloudevents.NewEvent()
		e.SetID("start")
		e.SetSource("/test")
		e.SetType(events.TypeExperimentStart)
		e.SetSubject(ns + "/shop")
		_ = e.SetData(cloudevents.ApplicationJSON, []byte(shortSpec))
		if _, err := h.Start(context.Background(), e); err != nil {
			t.Fatalf("start in %s: %v", ns, err)
		}
	}
	now = now.Add(2 * time.Minute)
	return cs, &now
}

func tickEvent() cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID("tick")
	e.SetSource("/apis/v1/namespaces/iter8-system/pingsources/iter8-collect")
	e.SetType(events.TypePing)
	return e
}

func phases(t *testing.T, cs *fake.Clientset, namespaces ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ns := range namespaces {
		s, err := cs.ServingV1().Services(ns).Get(context.Background(), "shop", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[ns] = s.Labels[store.LabelPhase]
	}
	return out
}

// TestTickListsOnlyConfiguredNamespaces: with namespaces configured (the
// per-namespace Roles), the tick lists Services in each of them and never
// across all namespaces, which those Roles forbid; maxDuration is enforced
// in each, and a Service in a namespace not listed is left alone.
func TestTickListsOnlyConfiguredNamespaces(t *testing.T) {
	cs, now := tickFixture(t, "a", "b", "c")
	cs.ClearActions()
	h := New(store.New(cs.ServingV1()), WithNamespaces("a", "b"), WithClock(func() time.Time { return *now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if _, err := h.Collect(context.Background(), tickEvent()); err != nil {
		t.Fatalf("tick: %v", err)
	}
	var listed []string
	for _, a := range cs.Actions() {
		if a.GetVerb() == "list" {
			listed = append(listed, a.GetNamespace())
		}
	}
	if diff := cmp.Diff([]string{"a", "b"}, listed); diff != "" {
		t.Errorf("namespaces listed (-want +got):\n%s", diff)
	}
	want := map[string]string{"a": "completed", "b": "completed", "c": "running"}
	if diff := cmp.Diff(want, phases(t, cs, "a", "b", "c")); diff != "" {
		t.Errorf("phases after the tick (-want +got):\n%s", diff)
	}
}

// TestTickAllNamespaces: without a namespace list the tick lists once,
// across all namespaces (the ClusterRole).
func TestTickAllNamespaces(t *testing.T) {
	cs, now := tickFixture(t, "a", "b")
	cs.ClearActions()
	h := New(store.New(cs.ServingV1()), WithClock(func() time.Time { return *now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if _, err := h.Collect(context.Background(), tickEvent()); err != nil {
		t.Fatalf("tick: %v", err)
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "list" && a.GetNamespace() != "" {
			t.Errorf("listed in namespace %q, want all namespaces", a.GetNamespace())
		}
	}
	if diff := cmp.Diff(map[string]string{"a": "completed", "b": "completed"}, phases(t, cs, "a", "b")); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}
}

// TestTickOneNamespaceForbidden: a namespace whose Role is missing makes
// the tick answer a retried 503 naming it, and the other namespaces are
// still collected.
func TestTickOneNamespaceForbidden(t *testing.T) {
	cs, now := tickFixture(t, "a", "b")
	cs.PrependReactor("list", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "b" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "serving.knative.dev", Resource: "services"}, "", nil)
		}
		return false, nil, nil
	})
	h := New(store.New(cs.ServingV1()), WithNamespaces("a", "b"), WithClock(func() time.Time { return *now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	_, err := h.Collect(context.Background(), tickEvent())
	if events.StatusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "b/*") {
		t.Errorf("tick: %v, want a 503 naming namespace b", err)
	}
	if got := phases(t, cs, "a")["a"]; got != "completed" {
		t.Errorf("namespace a: phase %q, want completed despite b", got)
	}
}

// slowCollector blocks until its context ends, as a Prometheus that does
// not answer.
type slowCollector struct{ calls chan string }

func (c slowCollector) Windows(ctx context.Context, x collector.Experiment, _ time.Time) ([]collector.Window, error) {
	c.calls <- x.Namespace + "/" + x.Service
	<-ctx.Done()
	return nil, events.Transient(http.StatusServiceUnavailable, ctx.Err())
}

// TestTickBoundedByDeadline: with a collector that never answers, the tick
// runs at most WithTickWorkers collections at once and answers a retried
// 503 when its deadline ends, counting the experiments it did not reach.
func TestTickBoundedByDeadline(t *testing.T) {
	namespaces := []string{"a", "b", "c", "d", "e"}
	cs, now := tickFixture(t, namespaces...)
	calls := make(chan string, len(namespaces))
	h := New(store.New(cs.ServingV1()), WithCollector(slowCollector{calls}), WithTickWorkers(2),
		WithClock(func() time.Time { return *now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := h.Collect(ctx, tickEvent()); done <- err }()
	<-calls
	<-calls // two workers busy; the third experiment waits for a slot
	cancel()
	err := <-done
	if events.StatusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "3 of 5 experiments not reached") {
		t.Errorf("tick: %v, want a 503 counting 3 of 5 not reached", err)
	}
	if n := len(calls); n != 0 {
		t.Errorf("%d more collections started beyond the 2 workers", n)
	}
}

// TestEmittedSourceFollowsKnative: iter8's events name their producer the
// way Knative's sources do, /apis/v1/namespaces/NS/RESOURCE/NAME.
func TestEmittedSourceFollowsKnative(t *testing.T) {
	convention := regexp.MustCompile(`^/apis/v1/namespaces/[a-z0-9-]+/[a-z]+/[a-z0-9-]+$`)
	for _, s := range []string{DefaultSource, collector.Source, SourceFor("shop", "iter8")} {
		if !convention.MatchString(s) {
			t.Errorf("source %q does not follow /apis/v1/namespaces/NS/RESOURCE/NAME", s)
		}
	}
	cs, _ := tickFixture(t, "default")
	svc, _ := cs.ServingV1().Services("default").Get(context.Background(), "shop", metav1.GetOptions{})
	h := New(store.New(cs.ServingV1()))
	evs, _ := h.outbound(context.Background(), "default", "shop", experiment.Result{Emit: []experiment.Outbound{{Type: events.TypeExperimentFailed,
		Data: events.Failed{Service: svc.Name, Reason: "test"}}}}, time.Now())
	if len(evs) != 1 || evs[0].Source() != DefaultSource {
		t.Errorf("emitted %v, want one event from %s", evs, DefaultSource)
	}
}

// TestHandleDeadlineAnswersRetried: an event whose handling outlasts
// Timeouts.Handle (here a tick whose Prometheus never answers) is answered
// with a retried 503 saying so, rather than left to the sender's timeout.
func TestHandleDeadlineAnswersRetried(t *testing.T) {
	cs, now := tickFixture(t, "a")
	st := store.New(cs.ServingV1())
	h := New(st, WithCollector(slowCollector{make(chan string, 1)}), WithClock(func() time.Time { return *now }),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	sv := NewServer(h, st)
	sv.Timeouts = TimeoutsFor(120 * time.Millisecond)
	handler, err := sv.Handler(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	req := binary(events.TypePing, "", `{}`)
	delete(req.headers, "Ce-Subject") // a PingSource sends none
	code, body := send(t, srv.URL, req)
	if !events.Retried(code) || code != http.StatusServiceUnavailable || !strings.Contains(body, "deadline") {
		t.Errorf("answer %d %s: want a retried 503 naming the deadline", code, body)
	}
}

// TestTimeoutsNested: whatever the platform's request timeout, an event is
// handled within it with room to answer.
func TestTimeoutsNested(t *testing.T) {
	for _, req := range []time.Duration{time.Second, 30 * time.Second, 300 * time.Second} {
		to := TimeoutsFor(req)
		if !(to.Handle < to.Write && to.Write <= req && to.ReadHeader <= to.Read && to.Read < req) {
			t.Errorf("request %s: %+v: want ReadHeader <= Read < request and Handle < Write <= request", req, to)
		}
	}
}
