package functions

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/load"
	"github.com/iter8-knative/iter8/pkg/store"
)

const loadSpec = `{"kind":"performance","baseline":"shop-v1",
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.5}],
 "limits":{"minSamples":1000},"load":{"rate":10}}`

// fakeLoader answers every burst with a window of 100 requests, 1 failed,
// starting at the clock, and records the targets it was given.
type fakeLoader struct {
	mu      sync.Mutex
	now     *time.Time
	targets []load.Target
	err     error
}

func (f *fakeLoader) Run(_ context.Context, x load.Target) (load.Burst, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets = append(f.targets, x)
	if f.err != nil {
		return load.Burst{}, f.err
	}
	obs := events.NewMetricsObserved(*f.now, f.now.Add(10*time.Second))
	obs.Set(x.Version, "errors", events.Ratio(1, 100))
	return load.Burst{Data: obs, Stats: load.Stats{Asked: 10, Requested: 10, Sent: 100, Errors: 1, Span: 10 * time.Second}}, nil
}

// loadFixture starts a performance experiment with a load block on
// default/shop, whose spec.traffic tags shop-v1; the Route's status gives
// it a tag URL when tagged.
func loadFixture(t *testing.T, tagged bool) (*Handlers, *fake.Clientset, *fakeLoader, *time.Time) {
	t.Helper()
	svc := service("shop", true)
	svc.Spec.Traffic = []servingv1.TrafficTarget{{Tag: "v1", RevisionName: "shop-v1", Percent: ptr.Int64(100)}}
	cs := fake.NewSimpleClientset(svc, revision("shop", "shop-v1"))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fl := &fakeLoader{now: &now}
	h := New(store.New(cs.ServingV1()), WithClock(func() time.Time { return now }), WithLoader(fl),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	e := shopEvent("start", events.TypeExperimentStart, []byte(loadSpec))
	if _, err := h.Start(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if tagged {
		svc, err := cs.ServingV1().Services("default").Get(context.Background(), "shop", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := apis.ParseURL("http://v1-shop.default.svc.cluster.local")
		svc.Status.Traffic = []servingv1.TrafficTarget{{Tag: "v1", RevisionName: "shop-v1", URL: u}}
		if _, err := cs.ServingV1().Services("default").UpdateStatus(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Second)
	return h, cs, fl, &now
}

// shopEvent is an event of type typ about default/shop.
func shopEvent(id, typ string, data any) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("/test")
	e.SetType(typ)
	e.SetSubject("default/shop")
	_ = e.SetData(cloudevents.ApplicationJSON, data)
	return e
}

func loadState(t *testing.T, h *Handlers) *experiment.State {
	t.Helper()
	rec, err := h.store.Get(context.Background(), "default", "shop")
	if err != nil {
		t.Fatal(err)
	}
	return rec.State
}

func TestLoadBurstsFoldIn(t *testing.T) {
	h, _, fl, now := loadFixture(t, true)
	for range 2 {
		if _, err := h.Collect(context.Background(), tickEvent()); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(time.Minute)
	}
	st := loadState(t, h)
	last := events.Time{Time: now.Add(-time.Minute)}
	if diff := cmp.Diff(&experiment.LoadStatus{Bursts: 2, Asked: 10, Requested: 10, Sent: 200, Errors: 2, Seconds: 20, Tick: last}, st.Load); diff != "" {
		t.Errorf("load status (-want +got):\n%s", diff)
	}
	if st.Iteration != 2 {
		t.Errorf("iteration %d, want 2 windows folded in", st.Iteration)
	}
	var firsts []bool
	for _, x := range fl.targets {
		firsts = append(firsts, x.First)
		if x.TagURL != "http://v1-shop.default.svc.cluster.local" || x.Version != "shop-v1" {
			t.Errorf("burst aimed at %s %s", x.Version, x.TagURL)
		}
	}
	if diff := cmp.Diff([]bool{true, false}, firsts); diff != "" {
		t.Errorf("first bursts (-want +got):\n%s", diff)
	}
}

// TestLoadBurstCountsOnce delivers one tick twice, which sends one burst,
// then replays the burst from the record read before it was folded in, as
// a second replica handling the same tick at once would: its overlapping
// window counts once.
func TestLoadBurstCountsOnce(t *testing.T) {
	h, _, fl, now := loadFixture(t, true)
	before, err := h.store.Get(context.Background(), "default", "shop")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := h.Collect(context.Background(), tickEvent()); err != nil {
			t.Fatal(err)
		}
	}
	if st := loadState(t, h); st.Iteration != 1 || st.Load.Bursts != 1 || len(fl.targets) != 1 {
		t.Errorf("one tick delivered twice: iteration %d, bursts %d folded, %d sent; want 1, 1, 1", st.Iteration, st.Load.Bursts, len(fl.targets))
	}
	if err := h.loadOne(context.Background(), before, *now); err != nil {
		t.Fatal(err)
	}
	if st := loadState(t, h); st.Iteration != 1 || st.Load.Bursts != 1 || len(fl.targets) != 2 {
		t.Errorf("a concurrent replica's burst: iteration %d, bursts %d folded, %d sent; want 1, 1, 2", st.Iteration, st.Load.Bursts, len(fl.targets))
	}
}

func TestLoadWaits(t *testing.T) {
	t.Run("no tag URL", func(t *testing.T) {
		h, _, fl, _ := loadFixture(t, false)
		if _, err := h.Collect(context.Background(), tickEvent()); err != nil {
			t.Fatal(err)
		}
		if len(fl.targets) != 0 || loadState(t, h).Load != nil {
			t.Errorf("load ran without a tag URL: %d bursts", len(fl.targets))
		}
	})
	t.Run("paused", func(t *testing.T) {
		h, _, fl, _ := loadFixture(t, true)
		c := shopEvent("pause", events.TypeExperimentControl, events.Control{Action: events.ActionPause})
		if _, err := h.Control(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Collect(context.Background(), tickEvent()); err != nil {
			t.Fatal(err)
		}
		if len(fl.targets) != 0 {
			t.Errorf("a paused experiment got %d bursts", len(fl.targets))
		}
	})
}

func TestLoadFailures(t *testing.T) {
	t.Run("permanent fails the experiment", func(t *testing.T) {
		h, _, fl, _ := loadFixture(t, true)
		fl.err = events.Permanent(http.StatusUnprocessableEntity, errors.New("load target refused"))
		if _, err := h.Collect(context.Background(), tickEvent()); err != nil {
			t.Fatal(err)
		}
		if st := loadState(t, h); st.Phase != experiment.PhaseFailed {
			t.Errorf("phase %s, want Failed", st.Phase)
		}
	})
	t.Run("transient is retried", func(t *testing.T) {
		h, _, fl, _ := loadFixture(t, true)
		fl.err = events.Transient(http.StatusServiceUnavailable, errors.New("cut short"))
		if _, err := h.Collect(context.Background(), tickEvent()); err == nil || events.IsPermanent(err) {
			t.Errorf("tick: %v, want a transient failure", err)
		}
		if st := loadState(t, h); st.Phase != experiment.PhaseRunning {
			t.Errorf("phase %s, want Running", st.Phase)
		}
	})
}

// endingLoader aborts the experiment while its burst runs.
type endingLoader struct {
	fakeLoader
	h *Handlers
}

func (l *endingLoader) Run(ctx context.Context, x load.Target) (load.Burst, error) {
	c := shopEvent("abort", events.TypeExperimentControl, events.Control{Action: events.ActionAbort})
	if _, err := l.h.Control(ctx, c); err != nil {
		return load.Burst{}, err
	}
	return l.fakeLoader.Run(ctx, x)
}

func TestLoadBurstOfAnEndedExperimentIsDropped(t *testing.T) {
	h, _, fl, _ := loadFixture(t, true)
	h.load = &endingLoader{fakeLoader: fakeLoader{now: fl.now}, h: h}
	if _, err := h.Collect(context.Background(), tickEvent()); err != nil {
		t.Fatalf("tick: %v, want no failure", err)
	}
	if st := loadState(t, h); st.Phase != experiment.PhaseCompleted || st.Iteration != 0 || st.Load != nil {
		t.Errorf("phase %s, iteration %d, load %+v; want the aborted experiment without the burst", st.Phase, st.Iteration, st.Load)
	}
}

func TestLoadStartNeedsATag(t *testing.T) {
	cs := fake.NewSimpleClientset(service("shop", true), revision("shop", "shop-v1"))
	h := New(store.New(cs.ServingV1()), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	e := shopEvent("start", events.TypeExperimentStart, []byte(loadSpec))
	_, err := h.Start(context.Background(), e)
	if err == nil || events.StatusOf(err) != http.StatusUnprocessableEntity {
		t.Fatalf("start of an untagged version: %v, want a 422", err)
	}
	if diff := cmp.Diff([]string{"spec.load"}, paths(events.FieldErrorsOf(err))); diff != "" {
		t.Errorf("field paths (-want +got):\n%s", diff)
	}
}

func paths(fe events.FieldErrors) []string {
	var out []string
	for _, f := range fe {
		out = append(out, f.Path)
	}
	return out
}
