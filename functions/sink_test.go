package functions

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// TestEveryEventIsEmittedOnce: the reply is the most significant event,
// every other emitted event goes to K_SINK, none goes both ways (Knative
// sends the reply on through the Broker that K_SINK also points at), and a
// sink that fails costs the event nothing. The Service's events log names
// exactly the events sent, by type and id, and a redelivery adds nothing.
func TestEveryEventIsEmittedOnce(t *testing.T) {
	for _, failing := range []bool{false, true} {
		cs := fake.NewSimpleClientset(service("shop", true), revision("shop", "shop-v1"), revision("shop", "shop-v2"))
		st := store.New(cs.ServingV1())
		var sent []string
		var all []cloudevents.Event
		emit := func(_ context.Context, e cloudevents.Event) error {
			sent = append(sent, e.Type())
			all = append(all, e)
			if failing {
				return errors.New("sink unreachable")
			}
			return nil
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		h := New(st, WithEmitter(emit), WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		ctx := context.Background()
		start := cloudevents.NewEvent()
		start.SetID("s")
		start.SetSource("/test")
		start.SetType(events.TypeExperimentStart)
		start.SetSubject("default/shop")
		_ = start.SetData(cloudevents.ApplicationJSON, []byte(specJSON))
		startReply, err := h.Start(ctx, start)
		if err != nil || startReply == nil || startReply.Type() != events.TypeExperimentStarted {
			t.Fatalf("failing sink %v: start: %v %v", failing, startReply, err)
		}
		w := events.NewMetricsObserved(now, now.Add(time.Minute))
		w.Set("shop-v1", "errors", events.Ratio(0, 5000))
		w.Set("shop-v2", "errors", events.Ratio(0, 5000))
		obs := cloudevents.NewEvent()
		obs.SetID("w")
		obs.SetSource("/test")
		obs.SetType(events.TypeMetricsObserved)
		obs.SetSubject("default/shop")
		_ = obs.SetData(cloudevents.ApplicationJSON, w)
		reply, err := h.Observe(ctx, obs)
		if err != nil || reply == nil {
			t.Fatalf("failing sink %v: observe: %v %v", failing, reply, err)
		}
		// Started and Completed are the replies; only the rest is sunk.
		want := []string{events.TypeExperimentAssessed, events.TypeTrafficChanged}
		if diff := cmp.Diff(want, sent); diff != "" {
			t.Errorf("failing sink %v: sent to K_SINK (-want +got):\n%s", failing, diff)
		}
		if reply.Type() != events.TypeExperimentCompleted {
			t.Errorf("failing sink %v: reply %s, want the most significant, %s", failing, reply.Type(), events.TypeExperimentCompleted)
		}
		if again, err := h.Observe(ctx, obs); err != nil || again != nil {
			t.Errorf("failing sink %v: redelivered window: %v %v, want a duplicate", failing, again, err)
		}
		rec, _ := fresh(t, cs)
		log, err := store.EventsOf(rec.Service)
		if err != nil {
			t.Fatal(err)
		}
		named := func(es ...cloudevents.Event) map[string]string {
			m := map[string]string{}
			for _, e := range es {
				m[e.ID()] = e.Type()
			}
			return m
		}
		logged := map[string]string{}
		for i, e := range log {
			logged[e.ID] = e.Type
			if e.Seq != i+1 || !e.Time.Equal(now) || e.Summary == "" {
				t.Errorf("failing sink %v: log entry %d: %+v", failing, i, e)
			}
		}
		if diff := cmp.Diff(named(append(all, *startReply, *reply)...), logged); diff != "" {
			t.Errorf("failing sink %v: events log against the events sent, id: type (-sent +logged):\n%s", failing, diff)
		}
	}
}

// TestSinkEmitterSendsToken: with a token file (SinkBinding's OIDC token
// for the Broker's audience) every send carries it, read afresh so that a
// refreshed token is used; without one no Authorization header is sent.
func TestSinkEmitterSendsToken(t *testing.T) {
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "token")
	e := cloudevents.NewEvent()
	e.SetID("x")
	e.SetSource(DefaultSource)
	e.SetType(events.TypeExperimentFailed)
	for _, tc := range []struct{ file, token, want string }{
		{file, "first\n", "Bearer first"},
		{file, "refreshed", "Bearer refreshed"},
		{"", "", ""},
	} {
		if tc.file != "" {
			if err := os.WriteFile(tc.file, []byte(tc.token), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		emit, err := SinkEmitter(srv.URL, WithTokenFile(tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := emit(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		if a := <-got; a != tc.want {
			t.Errorf("Authorization %q, want %q", a, tc.want)
		}
	}
}
