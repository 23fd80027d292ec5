package functions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/store"
)

// captured records what a tick emits.
type captured struct {
	mu   sync.Mutex
	evs  []cloudevents.Event
	fail map[string]bool // subjects whose send fails
}

func (c *captured) emit(_ context.Context, e cloudevents.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail[e.Subject()] {
		return errors.New("broker unavailable")
	}
	c.evs = append(c.evs, e)
	return nil
}

// countingCollector returns one window from x.Since to now of 10 trials a
// version, and counts the queries it would make.
type countingCollector struct{ queries atomic.Int32 }

func (c *countingCollector) Windows(_ context.Context, x collector.Experiment, now time.Time) ([]collector.Window, error) {
	if !now.After(x.Since) {
		return nil, nil // the collector's own rule: no query for an empty window
	}
	c.queries.Add(1)
	obs := events.NewMetricsObserved(x.Since, now)
	for _, v := range x.Versions {
		obs.Set(v, "errors", events.Ratio(1, 10))
	}
	return []collector.Window{{Data: obs}}, nil
}

func quiet() Option { return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

// TestTickFansOut: with an emitter and fan-out on, a tick writes nothing
// itself and emits one collect event per running experiment, naming the
// experiment and the tick truncated to the period; a second tick in the
// same period (a PingSource that fired twice) emits the same events, ids
// included.
func TestTickFansOut(t *testing.T) {
	cs, now := tickFixture(t, "a", "b", "c")
	*now = time.Date(2026, 1, 1, 0, 0, 40, 0, time.UTC) // within maxDuration
	var sink captured
	h := New(store.New(cs.ServingV1()), WithEmitter(sink.emit), WithFanout(true), WithTickPeriod(time.Minute),
		WithClock(func() time.Time { return *now }), quiet())
	cs.ClearActions()
	for _, at := range []time.Duration{10 * time.Second, 35 * time.Second} {
		tick := tickEvent()
		tick.SetTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(at))
		if _, err := h.Collect(context.Background(), tick); err != nil {
			t.Fatalf("tick at %s: %v", at, err)
		}
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("the tick itself did %s %s; it should only list", a.GetVerb(), a.GetResource().Resource)
		}
	}
	type got struct{ Type, Subject, ID, Experiment, Tick string }
	var seen []got
	for _, e := range sink.evs {
		c, err := events.DecodeExperimentCollect(e)
		if err != nil {
			t.Fatalf("emitted %s: %v", e.Type(), err)
		}
		seen = append(seen, got{e.Type(), e.Subject(), e.ID(), c.Experiment, c.Tick.Format(time.RFC3339)})
	}
	if len(seen) != 6 {
		t.Fatalf("emitted %d events, want 3 per tick: %+v", len(seen), seen)
	}
	ids := map[string]string{}
	for _, g := range seen {
		want := got{events.TypeExperimentCollect, g.Subject, g.ID, g.Experiment, "2026-01-01T00:00:00Z"}
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("collect event (-want +got):\n%s", diff)
		}
		if id, ok := ids[g.Subject]; ok && id != g.ID {
			t.Errorf("%s: the two ticks of one period emitted ids %s and %s, want one", g.Subject, id, g.ID)
		}
		ids[g.Subject] = g.ID
	}
	if diff := cmp.Diff(map[string]string{"a": "running", "b": "running", "c": "running"}, phases(t, cs, "a", "b", "c")); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}
}

// TestTickFanOutFailures: a failed send makes the tick a retried 503 naming
// the Service, and the others are still sent; without an emitter, fan-out
// on still collects in process, as without fan-out.
func TestTickFanOutFailures(t *testing.T) {
	cs, now := tickFixture(t, "a", "b")
	sink := captured{fail: map[string]bool{"b/shop": true}}
	h := New(store.New(cs.ServingV1()), WithEmitter(sink.emit), WithFanout(true), WithClock(func() time.Time { return *now }), quiet())
	_, err := h.Collect(context.Background(), tickEvent())
	if events.StatusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "collect event for b/shop") {
		t.Errorf("tick: %v, want a 503 naming b/shop", err)
	}
	if len(sink.evs) != 1 || sink.evs[0].Subject() != "a/shop" {
		t.Errorf("sent %d events, want a/shop's", len(sink.evs))
	}
	noSink := New(store.New(cs.ServingV1()), WithFanout(true), WithClock(func() time.Time { return *now }), quiet())
	if _, err := noSink.Collect(context.Background(), tickEvent()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a": "completed", "b": "completed"}, phases(t, cs, "a", "b")); diff != "" {
		t.Errorf("without an emitter the tick collects in process, past maxDuration (-want +got):\n%s", diff)
	}
}

// collectEvent is a collect event for ns/shop's experiment at tick.
func collectEvent(t *testing.T, ns, experimentID string, tick time.Time, id string) cloudevents.Event {
	t.Helper()
	e, err := events.New(events.TypeExperimentCollect, DefaultSource, events.Subject(ns, "shop"), tick,
		events.Collect{Experiment: experimentID, Tick: events.Time{Time: tick}})
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		e.SetID(id) // another tick's event for the same window
	}
	return e
}

// TestCollectEventCountsOnce: each delivery of a collect event, whatever
// its id and however often, folds its window in once; an older tick's
// event queries and folds nothing; an event about an experiment that is
// not the one running does nothing; at maxDuration the experiment
// completes at the tick's time.
func TestCollectEventCountsOnce(t *testing.T) {
	cs, now := tickFixture(t, "a")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	*now = start.Add(50 * time.Second)
	col := &countingCollector{}
	h := New(store.New(cs.ServingV1()), WithCollector(col), WithClock(func() time.Time { return *now }), quiet())
	rec, err := h.store.Get(context.Background(), "a", "shop")
	if err != nil {
		t.Fatal(err)
	}
	id := rec.State.ID
	t20, t40 := start.Add(20*time.Second), start.Add(40*time.Second)
	type state struct {
		Iteration int
		Trials    float64
		Queries   int32
		Phase     string
	}
	for _, c := range []struct {
		name string
		e    cloudevents.Event
		want state
	}{
		{"first tick", collectEvent(t, "a", id, t20, ""), state{1, 10, 1, "running"}},
		{"redelivered", collectEvent(t, "a", id, t20, ""), state{1, 10, 1, "running"}},
		{"the same window from another tick", collectEvent(t, "a", id, t20, "other-tick"), state{1, 10, 1, "running"}},
		{"next tick", collectEvent(t, "a", id, t40, ""), state{2, 20, 2, "running"}},
		{"older tick after it", collectEvent(t, "a", id, t20, "late"), state{2, 20, 2, "running"}},
		{"another experiment", collectEvent(t, "a", "0123456789ab", start.Add(90*time.Second), ""), state{2, 20, 2, "running"}},
		{"tick in the future is clamped to now", collectEvent(t, "a", id, start.Add(time.Hour), ""), state{3, 30, 3, "running"}},
	} {
		if _, err := h.Route(context.Background(), c.e); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		r, err := store.New(cs.ServingV1()).Get(context.Background(), "a", "shop")
		if err != nil {
			t.Fatal(err)
		}
		got := state{r.State.Iteration, r.State.Data[0][0].Trials, col.queries.Load(), r.Service.Labels[store.LabelPhase]}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
		if c.name == "tick in the future is clamped to now" && !r.State.Collected.Equal(*now) {
			t.Errorf("%s: collected up to %s, want now %s", c.name, r.State.Collected, *now)
		}
	}
	*now = start.Add(2 * time.Minute)
	if _, err := h.Route(context.Background(), collectEvent(t, "a", id, start.Add(70*time.Second), "")); err != nil {
		t.Fatal(err)
	}
	if got := phases(t, cs, "a")["a"]; got != "completed" {
		t.Errorf("after a tick past maxDuration: phase %s, want completed", got)
	}
}

// TestCollectEventRefusals: a collect event with bad data, or about a
// Service that has not opted in, is refused with a status Knative does not
// retry, naming the field or the label.
func TestCollectEventRefusals(t *testing.T) {
	cs, now := tickFixture(t, "a")
	h := New(store.New(cs.ServingV1()), WithClock(func() time.Time { return *now }), quiet())
	optedOut := service("plain", false)
	optedOut.Namespace = "a"
	if _, err := cs.ServingV1().Services("a").Create(context.Background(), optedOut, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	withData := func(data string) cloudevents.Event {
		e := collectEvent(t, "a", "0123456789ab", *now, "")
		e.DataEncoded = []byte(data)
		return e
	}
	notOptedIn := collectEvent(t, "a", "0123456789ab", *now, "")
	notOptedIn.SetSubject("a/plain")
	for _, c := range []struct {
		name   string
		e      cloudevents.Event
		status int
		names  string
	}{
		{"no tick", withData(`{"experiment":"0123456789ab"}`), 400, "data.tick"},
		{"experiment not a label", withData(`{"experiment":"../x","tick":"2026-01-01T00:00:00Z"}`), 400, "data.experiment"},
		{"unknown field", withData(`{"experiment":"ab","tick":"2026-01-01T00:00:00Z","extra":1}`), 400, "data.extra"},
		{"tick not a time", withData(`{"experiment":"ab","tick":"soon"}`), 400, "data.tick"},
		{"not opted in", notOptedIn, 403, "iter8.dev/enabled=true"},
	} {
		_, err := h.Route(context.Background(), c.e)
		if events.StatusOf(err) != c.status || !events.IsPermanent(err) || !strings.Contains(err.Error(), c.names) {
			t.Errorf("%s: %v (status %d), want a permanent %d naming %s", c.name, err, events.StatusOf(err), c.status, c.names)
		}
	}
}

// TestCollectConcurrencyBounded: one replica handles at most
// WithCollectConcurrency collect events at once; one that finds no free
// slot before its deadline is answered with a retried 503.
func TestCollectConcurrencyBounded(t *testing.T) {
	cs, now := tickFixture(t, "a", "b")
	*now = time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	calls := make(chan string, 2)
	h := New(store.New(cs.ServingV1()), WithCollector(slowCollector{calls}), WithCollectConcurrency(1),
		WithClock(func() time.Time { return *now }), quiet())
	ids := map[string]string{}
	for _, ns := range []string{"a", "b"} {
		r, err := h.store.Get(context.Background(), ns, "shop")
		if err != nil {
			t.Fatal(err)
		}
		ids[ns] = r.State.ID
	}
	first, cancelFirst := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := h.Route(first, collectEvent(t, "a", ids["a"], *now, "")); done <- err }()
	<-calls // a holds the only slot
	second, cancelSecond := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() { _, err := h.Route(second, collectEvent(t, "b", ids["b"], *now, "")); waited <- err }()
	cancelSecond()
	err := <-waited
	if events.StatusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "no free collection slot") {
		t.Errorf("second collect: %v, want a 503 for want of a slot", err)
	}
	if n := len(calls); n != 0 {
		t.Errorf("%d collections started beside the one the slot allows", n)
	}
	cancelFirst()
	<-done
}

// TestCollectEventSchemaMatchesGo: the data the tick emits passes the
// published schema's required fields (the events package checks the
// schema itself against its examples).
func TestCollectEventSchemaMatchesGo(t *testing.T) {
	e := collectEvent(t, "a", "0123456789ab", time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC), "")
	var data map[string]any
	if err := json.Unmarshal(e.Data(), &data); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"experiment": "0123456789ab", "tick": "2026-01-01T00:01:00Z"}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("collect data (-want +got):\n%s", diff)
	}
	if e.DataSchema() != events.SchemaURI(events.TypeExperimentCollect) {
		t.Errorf("dataschema %s", e.DataSchema())
	}
}
