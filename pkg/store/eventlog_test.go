package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
)

var logT0 = time.Date(2026, 11, 30, 16, 25, 27, 21922793, time.UTC)

func emitted(typ string, n int) []events.Emitted {
	out := make([]events.Emitted, n)
	for i := range out {
		out[i] = events.Emitted{Type: typ, ID: fmt.Sprintf("id-%s-%d", typ, i), Time: logT0.Add(time.Duration(i) * time.Second), Summary: "s"}
	}
	return out
}

func numbered(from int, es []events.Emitted) []events.Emitted {
	out := make([]events.Emitted, len(es))
	for i, e := range es {
		e.Seq = from + i
		out[i] = e
	}
	return out
}

// TestEventLogBound: the log at its largest (every entry at the longest
// fields, the summary all characters JSON escapes) stays within
// MaxLogBytes, which is a small, fixed share of the annotation budget.
func TestEventLogBound(t *testing.T) {
	worst := make([]events.Emitted, LogSize+5)
	for i := range worst {
		worst[i] = events.Emitted{
			Type: strings.Repeat("t", 2*maxLogType), ID: strings.Repeat("9", 2*maxLogID),
			Time:    time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)),
			Summary: strings.Repeat(`"\`, events.MaxSummary), // each byte escaped as two
		}
	}
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		AnnotationEvents: fmt.Sprintf(`[{"n":%d,"type":"x","id":"y","time":"2026-01-01T00:00:00Z"}]`, 1<<62)}}}
	got, err := appendLog(svc, false, worst)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > MaxLogBytes {
		t.Errorf("a full log of the largest entries is %d bytes, over MaxLogBytes %d", len(got), MaxLogBytes)
	}
	if MaxLogBytes > Budget/16 {
		t.Errorf("MaxLogBytes %d is more than a sixteenth of the %d-byte budget", MaxLogBytes, Budget)
	}
	t.Logf("worst-case log: %d bytes (MaxLogBytes %d, budget %d)", len(got), MaxLogBytes, Budget)
}

func TestAppendLog(t *testing.T) {
	started, assessed := emitted(events.TypeExperimentStarted, 1), emitted(events.TypeExperimentAssessed, LogSize+3)
	for _, tc := range []struct {
		name  string
		old   []events.Emitted
		raw   string // an annotation to start from instead of old
		fresh bool
		add   []events.Emitted
		want  []events.Emitted
	}{
		{name: "first events are numbered from 1", add: started, want: numbered(1, started)},
		{name: "numbering goes on", old: numbered(1, started), add: assessed[:2], want: append(numbered(1, started), numbered(2, assessed[:2])...)},
		{name: "only the last LogSize are kept", old: numbered(1, started), add: assessed, want: numbered(5, assessed[3:])},
		{name: "a new experiment starts afresh", old: numbered(7, assessed[:3]), fresh: true, add: started, want: numbered(1, started)},
		{name: "an unreadable log starts afresh", raw: "{not json", add: started, want: numbered(1, started)},
		{name: "nothing new, fresh: no log", old: numbered(1, started), fresh: true},
		{name: "summaries lose control characters and are clipped", add: []events.Emitted{{Type: "t", ID: "i", Time: logT0,
			Summary: "a\nb\tc" + strings.Repeat("é", events.MaxSummary)}},
			want: []events.Emitted{{Seq: 1, Type: "t", ID: "i", Time: logT0, Summary: "a b c" + strings.Repeat("é", (events.MaxSummary-5)/2)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
			if tc.old != nil {
				svc.Annotations[AnnotationEvents] = mustLog(t, tc.old)
			}
			if tc.raw != "" {
				svc.Annotations[AnnotationEvents] = tc.raw
			}
			raw, err := appendLog(svc, tc.fresh, tc.add)
			if err != nil {
				t.Fatal(err)
			}
			svc.Annotations[AnnotationEvents] = raw
			got, err := EventsOf(svc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

// mustLog writes a log with the numbers it has.
func mustLog(t *testing.T, log []events.Emitted) string {
	t.Helper()
	b, err := json.Marshal(log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEventLogInTheSameWrite: the events of a change go into the log in
// the update that writes the change, and a new experiment's first write
// replaces the last one's log.
func TestEventLogInTheSameWrite(t *testing.T) {
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"}}
	cs := fake.NewSimpleClientset(svc)
	s := New(cs.ServingV1())
	spec, st := newState(2, 1, 0)
	ctx := context.Background()
	write := func(key string, ch Change) {
		t.Helper()
		if _, err := s.Update(ctx, "default", "shop", key, func(Record) (*Change, error) { return &ch, nil }); err != nil {
			t.Fatal(err)
		}
	}
	updates := func() int {
		n := 0
		for _, a := range cs.Actions() {
			if _, ok := a.(k8stesting.UpdateAction); ok {
				n++
			}
		}
		return n
	}
	logOf := func() []events.Emitted {
		t.Helper()
		r, err := s.Get(ctx, "default", "shop")
		if err != nil {
			t.Fatal(err)
		}
		log, err := EventsOf(r.Service)
		if err != nil {
			t.Fatal(err)
		}
		return log
	}
	started, assessed := emitted(events.TypeExperimentStarted, 1), emitted(events.TypeExperimentAssessed, 2)
	write("start", Change{Spec: &spec, State: st, Status: "x", Emitted: started})
	write("w1", Change{State: st, Status: "x", Emitted: assessed})
	write("w2", Change{State: st, Status: "x"}) // emits nothing: the log stays
	if n := updates(); n != 3 {
		t.Errorf("%d updates for 3 changes, want one each", n)
	}
	if diff := cmp.Diff(append(numbered(1, started), numbered(2, assessed)...), logOf()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	st.ID = "next"
	write("start2", Change{Spec: &spec, State: st, Status: "x", Emitted: started})
	if diff := cmp.Diff(numbered(1, started), logOf()); diff != "" {
		t.Errorf("a new experiment's log (-want +got):\n%s", diff)
	}
}
