package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// t0 is the handlers' clock in these tests.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// scriptedCollector answers every Windows call with err.
type scriptedCollector struct{ err error }

func (c scriptedCollector) Windows(context.Context, collector.Experiment, time.Time) ([]collector.Window, error) {
	return nil, c.err
}

// shop returns handlers over a fake clientset holding the opted-in Service
// default/shop with revisions shop-v1 and shop-v2, and the clientset.
func shop(t *testing.T, opts ...Option) (*Handlers, *fake.Clientset) {
	t.Helper()
	cs := fake.NewSimpleClientset(service("shop", true), revision("shop", "shop-v1"), revision("shop", "shop-v2"))
	return handlersOver(cs, nil, opts...), cs
}

func handlersOver(cs *fake.Clientset, storeOpts []store.Option, opts ...Option) *Handlers {
	st := store.New(cs.ServingV1(), append([]store.Option{store.WithBackoff(wait.Backoff{Steps: 3, Duration: time.Millisecond})}, storeOpts...)...)
	base := []Option{WithClock(func() time.Time { return t0 }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithEngine(experiment.New(experiment.WithDraws(500)))}
	return New(st, append(base, opts...)...)
}

// send routes an event about default/shop and returns its status.
func sendTo(t *testing.T, h *Handlers, typ, id string, data any) (int, error) {
	t.Helper()
	if raw, ok := data.(json.RawMessage); ok {
		var spec events.ExperimentSpec
		if err := json.Unmarshal(raw, &spec); err != nil {
			t.Fatal(err)
		}
		data = spec
	}
	e, err := events.New(typ, "/test", "default/shop", t0, data)
	if err != nil {
		t.Fatal(err)
	}
	e.SetID(id)
	_, err = h.Route(context.Background(), e)
	return events.StatusOf(err), err
}

// fresh reads default/shop the way a new process does: a new Store, so no
// decode cache.
func fresh(t *testing.T, cs *fake.Clientset) (store.Record, map[string]int) {
	t.Helper()
	rec, err := store.New(cs.ServingV1()).Get(context.Background(), "default", "shop")
	if err != nil {
		t.Fatal(err)
	}
	traffic := map[string]int{}
	for _, tt := range rec.Service.Spec.Traffic {
		traffic[tt.RevisionName] = int(*tt.Percent)
	}
	return rec, traffic
}

func ping() cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID("tick-1")
	e.SetSource("/ping")
	e.SetType(events.TypePing)
	return e
}

// TestMissingDataFailsWithTheEnginesSplit is finding 7 of issue 16: a
// metric with onMissing fail and no data fails the experiment, and the
// state and the Service's traffic agree afterwards; a performance
// experiment's traffic is never touched.
func TestMissingDataFailsWithTheEnginesSplit(t *testing.T) {
	missing := fmt.Errorf("collect default/shop: %w", &collector.MissingError{Gaps: collector.Missing{
		{Version: "shop-v2", Metric: "errors", Fail: true, Reason: "no requests in the window"}}})
	tests := []struct {
		name        string
		spec        string
		wantService map[string]int // spec.traffic after the failure
		wantState   map[string]int
	}{
		{"canary rolls back", `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
			"metrics":[{"name":"errors","type":"ratio","onMissing":"fail"}],"objectives":[{"metric":"errors","upperLimit":0.01}]}`,
			map[string]int{"shop-v1": 100, "shop-v2": 0}, map[string]int{"shop-v1": 100, "shop-v2": 0}},
		{"canary keeps", `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],"onFailure":"keep",
			"metrics":[{"name":"errors","type":"ratio","onMissing":"fail"}],"objectives":[{"metric":"errors","upperLimit":0.01}]}`,
			map[string]int{"shop-v1": 90, "shop-v2": 10}, map[string]int{"shop-v1": 90, "shop-v2": 10}},
		{"performance never touches traffic", `{"kind":"performance","baseline":"shop-v1",
			"metrics":[{"name":"errors","type":"ratio","onMissing":"fail"}],"objectives":[{"metric":"errors","upperLimit":0.01}]}`,
			map[string]int{}, map[string]int{"shop-v1": 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, cs := shop(t, WithCollector(scriptedCollector{err: missing}))
			if code, err := sendTo(t, h, events.TypeExperimentStart, "start", json.RawMessage(tc.spec)); code != http.StatusOK {
				t.Fatalf("start: %d %v", code, err)
			}
			if _, err := h.Route(context.Background(), ping()); err != nil {
				t.Fatalf("tick: %v", err)
			}
			rec, traffic := fresh(t, cs)
			if rec.State.Phase != experiment.PhaseFailed || !strings.Contains(rec.State.Reason, "no data for metrics with onMissing fail") {
				t.Errorf("phase %s (%s), want Failed for the missing metric", rec.State.Phase, rec.State.Reason)
			}
			if diff := cmp.Diff(tc.wantService, traffic); diff != "" {
				t.Errorf("spec.traffic (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantState, rec.State.Traffic); diff != "" {
				t.Errorf("state traffic (-want +got):\n%s", diff)
			}
		})
	}
}

// budgetSpec has two histogram metrics, so that a window of one fits
// where the data of both does not.
const budgetSpec = `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
 "metrics":[{"name":"a","type":"quantile","quantile":0.95},{"name":"b","type":"quantile","quantile":0.95}],
 "objectives":[{"metric":"a","upperLimit":1000000}],"limits":{"minSamples":1000000000,"maxSamples":100000000000}}`

// histogramOf is a window [start, start+1m) with metric m of both versions
// over buckets bounds.
func histogramOf(start time.Time, m string, buckets int) events.MetricsObserved {
	bounds := make([]float64, buckets)
	counts := make([]int64, buckets+1)
	for k := range bounds {
		bounds[k], counts[k] = float64(k+1), int64(100+k)
	}
	w := events.NewMetricsObserved(start, start.Add(time.Minute))
	for _, v := range []string{"shop-v1", "shop-v2"} {
		w.Set(v, m, events.Histogram(bounds, counts))
	}
	return w
}

// need is the compacted size of the experiment's annotations holding st,
// with no dedupe keys and no assessment.
func need(t *testing.T, spec events.ExperimentSpec, st experiment.State) int {
	t.Helper()
	var over *store.BudgetError
	if err := store.New(nil, store.WithBudget(0)).Fits(spec, st); !errors.As(err, &over) {
		t.Fatalf("Fits with no budget: %v", err)
	}
	return over.Need
}

// TestOutgrownBudget is finding 8 of issue 16: an experiment whose state
// no longer fits the annotation budget ends, with a reason naming the
// budget, and frees its traffic as onFailure says, rather than stay
// Running while every window is refused. A window that would not fit even
// a fresh experiment is refused and the experiment goes on.
func TestOutgrownBudget(t *testing.T) {
	var spec events.ExperimentSpec
	if err := json.Unmarshal([]byte(budgetSpec), &spec); err != nil {
		t.Fatal(err)
	}
	spec = spec.Defaulted()
	e := experiment.New(experiment.WithDraws(500))
	st0, _, err := e.Start(spec, "x", t0)
	if err != nil {
		t.Fatal(err)
	}
	wa, wb := histogramOf(t0, "a", 40), histogramOf(t0.Add(time.Minute), "b", 40)
	stA, _, err := e.Observe(spec, st0, wa, t0)
	if err != nil {
		t.Fatal(err)
	}
	stAB, _, err := e.Observe(spec, stA, wb, t0)
	if err != nil {
		t.Fatal(err)
	}
	// a alone fits with room for the status and the dedupe keys; a and b
	// together do not, even compacted; b alone would.
	budget := need(t, spec, stAB) - 1
	if need(t, spec, stA)+400 > budget {
		t.Fatalf("the test's windows are too small: %d and %d bytes", need(t, spec, stA), need(t, spec, stAB))
	}

	t.Run("outgrown", func(t *testing.T) {
		cs := fake.NewSimpleClientset(service("shop", true), revision("shop", "shop-v1"), revision("shop", "shop-v2"))
		h := handlersOver(cs, []store.Option{store.WithBudget(budget)})
		if code, err := sendTo(t, h, events.TypeExperimentStart, "start", json.RawMessage(budgetSpec)); code != http.StatusOK {
			t.Fatalf("start: %d %v", code, err)
		}
		if code, err := sendTo(t, h, events.TypeMetricsObserved, "wa", wa); code != http.StatusOK {
			t.Fatalf("window a: %d %v", code, err)
		}
		code, err := sendTo(t, h, events.TypeMetricsObserved, "wb", wb)
		if code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(err), "budget") || !strings.Contains(fmt.Sprint(err), "the experiment failed") {
			t.Fatalf("window b: %d %v; want a 422 saying the experiment failed over its budget", code, err)
		}
		rec, traffic := fresh(t, cs)
		if rec.State.Phase != experiment.PhaseFailed || !strings.Contains(rec.State.Reason, "annotation budget") {
			t.Errorf("phase %s (%s), want Failed over the annotation budget", rec.State.Phase, rec.State.Reason)
		}
		if rec.State.Iteration != 1 {
			t.Errorf("iteration %d, want 1: window b was not folded in", rec.State.Iteration)
		}
		want := map[string]int{"shop-v1": 100, "shop-v2": 0}
		if diff := cmp.Diff(want, traffic); diff != "" {
			t.Errorf("spec.traffic (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, rec.State.Traffic); diff != "" {
			t.Errorf("state traffic (-want +got):\n%s", diff)
		}
		if code, _ := sendTo(t, h, events.TypeMetricsObserved, "wc", histogramOf(t0.Add(2*time.Minute), "a", 40)); code != http.StatusUnprocessableEntity {
			t.Errorf("a window after the failure: %d, want 422", code)
		}
	})

	t.Run("a window too big alone is refused", func(t *testing.T) {
		cs := fake.NewSimpleClientset(service("shop", true), revision("shop", "shop-v1"), revision("shop", "shop-v2"))
		h := handlersOver(cs, []store.Option{store.WithBudget(budget)})
		if code, err := sendTo(t, h, events.TypeExperimentStart, "start", json.RawMessage(budgetSpec)); code != http.StatusOK {
			t.Fatalf("start: %d %v", code, err)
		}
		before, _ := fresh(t, cs)
		code, err := sendTo(t, h, events.TypeMetricsObserved, "huge", histogramOf(t0, "b", 120))
		if code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(err), "budget") || strings.Contains(fmt.Sprint(err), "the experiment failed") {
			t.Fatalf("huge window: %d %v; want a 422 about the budget that leaves the experiment", code, err)
		}
		after, _ := fresh(t, cs)
		if diff := cmp.Diff(before.Service.Annotations, after.Service.Annotations); diff != "" {
			t.Errorf("the refused window changed the annotations (-before +after):\n%s", diff)
		}
		if code, err := sendTo(t, h, events.TypeMetricsObserved, "wa", wa); code != http.StatusOK {
			t.Errorf("a window that fits after the refused one: %d %v", code, err)
		}
	})
}

// TestCollection: which experiments the collector reads, and where their
// next window starts (these cases were the collector's before it stopped
// reading store records).
func TestCollection(t *testing.T) {
	var spec events.ExperimentSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		t.Fatal(err)
	}
	started, collected := t0.Add(-time.Hour), t0.Add(-time.Minute)
	rec := func(phase experiment.Phase, collected time.Time) store.Record {
		return store.Record{Service: service("shop", true), Spec: &spec, State: &experiment.State{Phase: phase,
			Versions: []string{"shop-v1", "shop-v2"}, Started: events.Time{Time: started}, Collected: events.Time{Time: collected}}}
	}
	want := func(since time.Time) collector.Experiment {
		return collector.Experiment{Namespace: "default", Service: "shop", Spec: spec, Versions: []string{"shop-v1", "shop-v2"}, Since: since}
	}
	tests := []struct {
		name   string
		rec    store.Record
		want   collector.Experiment
		wantOK bool
	}{
		{"after the last window", rec(experiment.PhaseRunning, collected), want(collected), true},
		{"paused experiments take data", rec(experiment.PhasePaused, collected), want(collected), true},
		{"the first window starts with the experiment", rec(experiment.PhaseRunning, time.Time{}), want(started), true},
		{"completed", rec(experiment.PhaseCompleted, collected), collector.Experiment{}, false},
		{"no experiment", store.Record{Service: service("shop", true)}, collector.Experiment{}, false},
	}
	for _, tc := range tests {
		got, ok := collection(tc.rec)
		if ok != tc.wantOK {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.wantOK)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestAgrees: step writes no split that the state written with it does
// not hold.
func TestAgrees(t *testing.T) {
	state := map[string]int{"v0": 90, "v1": 10}
	for _, tc := range []struct {
		name  string
		split map[string]int
		ok    bool
	}{
		{"the state's split", map[string]int{"v0": 90, "v1": 10}, true},
		{"leave the Service's traffic", nil, true},
		{"a rollback the state does not hold", map[string]int{"v0": 100, "v1": 0}, false},
		{"part of the state's split", map[string]int{"v0": 90}, false},
		{"a version the state does not know", map[string]int{"v0": 90, "v1": 10, "v9": 0}, false},
	} {
		if err := agrees(tc.split, state); (err == nil) != tc.ok {
			t.Errorf("%s: agrees = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
