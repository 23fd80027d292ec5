package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
)

func ce(source, id string) event.Event {
	e := event.New()
	e.SetSource(source)
	e.SetID(id)
	return e
}

// countingMutation counts its runs and advances the iteration each time.
func countingMutation(calls *int) Mutation {
	spec, st := newState(2, 1, 0)
	return func(r Record) (*Change, error) {
		*calls++
		if r.State != nil {
			st = *r.State
		}
		st.Iteration++
		return &Change{Spec: &spec, State: st, Status: "x"}, nil
	}
}

// TestDedupeKeysDoNotCollide is the outside corpus's finding: a pause whose
// source and id joined with a space read as an earlier start's ("a b" +
// "c" against "a" + "b c") was answered 200 and dropped as a duplicate. An
// opaque URI keeps its space (the SDK escapes one in a path).
func TestDedupeKeysDoNotCollide(t *testing.T) {
	start, pause := ce("urn:iter8:x y", "s1"), ce("urn:iter8:x", "y s1")
	if start.Source()+" "+start.ID() != pause.Source()+" "+pause.ID() {
		t.Fatalf("not the collision: %q, %q", start.Source()+" "+start.ID(), pause.Source()+" "+pause.ID())
	}
	if events.DedupeKey(start) == events.DedupeKey(pause) {
		t.Fatalf("start and pause share the key %q", events.DedupeKey(start))
	}
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"}}
	s := New(fake.NewSimpleClientset(svc).ServingV1())
	calls := 0
	for i, e := range []event.Event{start, pause, pause, start} {
		res, err := s.Update(context.Background(), "default", "shop", events.DedupeKey(e), countingMutation(&calls))
		if err != nil {
			t.Fatal(err)
		}
		if want := i >= 2; res.Duplicate != want {
			t.Errorf("delivery %d (%s %q): duplicate %v, want %v", i, e.Source(), e.ID(), res.Duplicate, want)
		}
	}
	if calls != 2 {
		t.Errorf("applied %d events, want the start and the pause", calls)
	}
}

func TestLegacyDedupeKey(t *testing.T) {
	for _, tc := range []struct{ source, id string }{{"/s", "1"}, {"/iter8/x y", "s1"}, {"", ""}, {"a:b c", "d e"}} {
		key := events.DedupeKeyOf(tc.source, tc.id)
		if got, want := events.LegacyDedupeKey(key), tc.source+" "+tc.id; got != want {
			t.Errorf("LegacyDedupeKey(%q) = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"src id", "", "3:ab", "03:abc d", "-1: x", "99:x y"} {
		if got := events.LegacyDedupeKey(key); got != "" {
			t.Errorf("LegacyDedupeKey(%q) = %q, want none", key, got)
		}
	}
}

// TestDedupeWindowSurvivesUpgrade: a Service whose state was written before
// the key change holds its window in the old format ("seen", hashes of
// "<source> <id>"). A redelivery of one of those events is still a
// duplicate after the upgrade; new events are applied, and their keys are
// written in the new field beside the old ones, which age out in order.
func TestDedupeWindowSurvivesUpgrade(t *testing.T) {
	spec, st := newState(2, 1, 0)
	specJSON, _ := json.Marshal(spec)
	oldState, _ := json.Marshal(map[string]any{"schema": st.Schema, "id": st.ID, "phase": st.Phase,
		"versions": st.Versions, "seen": hashKey("/src old-1") + hashKey("/src old-2")})
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default",
		Annotations: map[string]string{AnnotationExperiment: string(specJSON), AnnotationState: string(oldState)}}}
	cs := fake.NewSimpleClientset(svc)
	s := New(cs.ServingV1(), WithDedupeWindow(3))
	ctx := context.Background()
	calls := 0
	for _, tc := range []struct {
		id        string
		duplicate bool
	}{{"old-2", true}, {"new-1", false}, {"old-1", true}, {"new-2", false}, {"new-1", true}, {"old-1", false}} {
		res, err := s.Update(ctx, "default", "shop", events.DedupeKey(ce("/src", tc.id)), countingMutation(&calls))
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicate != tc.duplicate {
			t.Errorf("%s: duplicate %v, want %v", tc.id, res.Duplicate, tc.duplicate)
		}
		if tc.id == "new-2" {
			// A window of 3: old-2, new-1, new-2 (old-1, the oldest,
			// aged out).
			got, _ := cs.ServingV1().Services("default").Get(ctx, "shop", metav1.GetOptions{})
			var stored map[string]any
			if err := json.Unmarshal([]byte(got.Annotations[AnnotationState]), &stored); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"seen": hashKey("/src old-2"),
				"dedupe": hashKey(events.DedupeKeyOf("/src", "new-1")) + hashKey(events.DedupeKeyOf("/src", "new-2"))}
			if diff := cmp.Diff(want, map[string]any{"seen": stored["seen"], "dedupe": stored["dedupe"]}); diff != "" {
				t.Errorf("stored window (-want +got):\n%s", diff)
			}
		}
	}
	// The last old-1 came after it aged out of the window: applied, as any
	// event would be.
	if calls != 3 {
		t.Errorf("applied %d events, want new-1, new-2 and the late old-1", calls)
	}
}

// TestStateReadByAFreshProcess writes times at the edges of what a state
// can hold and reads them with a new Store, which has no decode cache; a
// time that could not be read back is refused before any write.
func TestStateReadByAFreshProcess(t *testing.T) {
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"}}
	cs := fake.NewSimpleClientset(svc)
	ctx := context.Background()
	spec, st := newState(2, 1, 0)
	st.Started = events.Time{Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}
	st.Updated = events.Time{Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}
	if _, err := New(cs.ServingV1()).Update(ctx, "default", "shop", "k1", func(Record) (*Change, error) {
		return &Change{Spec: &spec, State: st, Status: "x"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	r, err := New(cs.ServingV1()).Get(ctx, "default", "shop")
	if err != nil {
		t.Fatalf("a fresh store cannot read what was written: %v", err)
	}
	if !r.State.Started.Equal(st.Started.Time) || !r.State.Updated.Equal(st.Updated.Time) {
		t.Errorf("read back %v, %v; wrote %v, %v", r.State.Started, r.State.Updated, st.Started, st.Updated)
	}

	before, _ := cs.ServingV1().Services("default").Get(ctx, "shop", metav1.GetOptions{})
	st.Updated = events.Time{Time: time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(23*3600+59*60)))}
	if _, err := New(cs.ServingV1()).Update(ctx, "default", "shop", "k2", func(Record) (*Change, error) {
		return &Change{Spec: &spec, State: st, Status: "x"}, nil
	}); err == nil {
		t.Errorf("a state holding year 10000 was written")
	}
	after, _ := cs.ServingV1().Services("default").Get(ctx, "shop", metav1.GetOptions{})
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the Service was written")
	}
	if _, err := New(cs.ServingV1()).Get(ctx, "default", "shop"); err != nil {
		t.Errorf("a fresh store cannot read the Service after the refusal: %v", err)
	}
}
