package present

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
)

func TestEventsAfter(t *testing.T) {
	log := func(seqs ...int) []events.Emitted {
		var out []events.Emitted
		for _, s := range seqs {
			out = append(out, events.Emitted{Seq: s, ID: string(rune('a' + s))})
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		log        []events.Emitted
		after      int
		want       []events.Emitted
		wantMissed int
	}{
		{name: "empty log", after: 3},
		{name: "from the start", log: log(1, 2), want: log(1, 2)},
		{name: "only the new", log: log(1, 2, 3, 4), after: 2, want: log(3, 4)},
		{name: "nothing new", log: log(1, 2), after: 2},
		{name: "the log moved past the reader", log: log(7, 8, 9), after: 2, want: log(7, 8, 9), wantMissed: 4},
		{name: "a reader new to a long experiment", log: log(20, 21), want: log(20, 21), wantMissed: 19},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, missed := EventsAfter(tc.log, tc.after)
			if diff := cmp.Diff(tc.want, got); diff != "" || missed != tc.wantMissed {
				t.Errorf("missed %d, want %d; events (-want +got):\n%s", missed, tc.wantMissed, diff)
			}
		})
	}
}

func TestEventLines(t *testing.T) {
	at := time.Date(2026, 11, 30, 16, 25, 27, 0, time.FixedZone("CET", 3600))
	e := events.Emitted{Seq: 3, Type: events.TypeExperimentStarted, ID: "84297e2a", Time: at, Summary: "abn: baseline shop-v1"}
	if diff := cmp.Diff("15:25:27  emitted dev.iter8.experiment.started 84297e2a · abn: baseline shop-v1", EventLine(e)); diff != "" {
		t.Errorf("EventLine (-want +got):\n%s", diff)
	}
	var b strings.Builder
	long := e
	long.Summary = strings.Repeat("x", 100)
	if err := WriteEvents(&b, []events.Emitted{e, e, long}, 2, 10); err != nil {
		t.Fatal(err)
	}
	want := `EMITTED   TYPE                          ID        SUMMARY
15:25:27  dev.iter8.experiment.started  84297e2a  abn: base…
15:25:27  dev.iter8.experiment.started  84297e2a  xxxxxxxxx…
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteEvents (-want +got):\n%s", diff)
	}
}
