package commands

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// emitOn writes, as the functions would, the events evs with the state
// next makes of shop's (nil: the state as it is), in one update.
func emitOn(t *testing.T, h *harness, key string, next func(events.ExperimentSpec, experiment.State) experiment.State, evs []events.Emitted) {
	t.Helper()
	_, err := store.New(h.serving.ServingV1()).Update(context.Background(), "default", "shop", key, func(r store.Record) (*store.Change, error) {
		st := *r.State
		if next != nil {
			st = next(*r.Spec, st)
		}
		return &store.Change{State: st, Status: experiment.Summary(*r.Spec, st), Emitted: evs}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWatchShowsEmittedEvents: watch prints every event the functions
// emitted, in order, with its type and id, and says how many it could not
// show when more were emitted at once than the Service's log keeps.
func TestWatchShowsEmittedEvents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bursts []int // events emitted per write
		missed string
	}{
		{name: "a write at a time", bursts: []int{1, 3, 2}},
		{name: "a burst longer than the log", bursts: []int{2, store.LogSize + 3}, missed: "(3 emitted events not shown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, recorded(t, "shop"))
			out, code := watching(t, h, "shop")
			var want []string
			n := 0
			for i, b := range tc.bursts {
				evs := make([]events.Emitted, b)
				for j := range evs {
					n++
					evs[j] = events.Emitted{Type: events.TypeExperimentAssessed, ID: fmt.Sprintf("id%03d", n), Time: fixedNow, Summary: fmt.Sprintf("iteration %d", n)}
				}
				emitOn(t, h, fmt.Sprint("w", i), nil, evs)
				kept := evs[max(0, len(evs)-store.LogSize):]
				for _, e := range kept {
					want = append(want, e.Type+" "+e.ID)
				}
				waitFor(t, out, evs[len(evs)-1].ID)
			}
			done := []events.Emitted{{Type: events.TypeExperimentCompleted, ID: "done", Time: fixedNow, Summary: "promoted shop-v2"}}
			emitOn(t, h, "promote", func(spec events.ExperimentSpec, st experiment.State) experiment.State {
				next, _, err := experiment.New().Control(spec, st, events.Control{Action: events.ActionPromote, Version: "shop-v2"}, fixedNow.Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				return next
			}, done)
			want = append(want, events.TypeExperimentCompleted+" done")
			if c := waitExit(t, code); c != exitOK {
				t.Fatalf("exit %d, want 0; stderr:\n%s\n%s", c, h.stderr, out)
			}
			var shown []string
			for _, line := range strings.Split(out.String(), "\n") {
				if _, rest, ok := strings.Cut(line, "  emitted "); ok {
					typ, id, _ := strings.Cut(rest, " ")
					id, _, _ = strings.Cut(id, " ")
					shown = append(shown, typ+" "+id)
				}
			}
			if diff := cmp.Diff(want, shown); diff != "" {
				t.Errorf("emitted events shown (-want +got):\n%s\n%s", diff, out)
			}
			if got := strings.Contains(out.String(), "not shown"); got != (tc.missed != "") || !strings.Contains(out.String(), tc.missed) {
				t.Errorf("output should say %q about the events it missed:\n%s", tc.missed, out)
			}
		})
	}
}

// TestWatchShowsEmittedEventsOnATerminal: the redrawn view ends with the
// last emitted events.
func TestWatchShowsEmittedEventsOnATerminal(t *testing.T) {
	h := newHarness(t, recorded(t, "shop"))
	h.env.isTerminal = true
	out, code := watching(t, h, "shop")
	emitOn(t, h, "end", func(spec events.ExperimentSpec, st experiment.State) experiment.State {
		next, _, _ := experiment.New().Control(spec, st, events.Control{Action: events.ActionAbort}, fixedNow)
		return next
	}, []events.Emitted{{Type: events.TypeExperimentCompleted, ID: "e1", Time: fixedNow, Summary: "aborted"}})
	waitExit(t, code)
	if want := "10:47:00  dev.iter8.experiment.completed  e1  aborted"; !strings.Contains(out.String(), want) {
		t.Errorf("the view lacks %q:\n%s", want, out)
	}
}
