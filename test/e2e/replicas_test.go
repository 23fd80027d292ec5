package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/stack"
)

// replicaServices are the Services each replica test runs an experiment on,
// all at once.
var replicaServices = []string{"shop-a", "shop-b", "shop-c"}

// TestReplicasExactlyOnce runs three experiments at once on three
// iter8-functions replicas behind one route, with every window and
// control delivered to all three replicas at the same moment and ticks
// fanned out through the Broker all along: each step must be applied by
// exactly one delivery, the counts must be exactly the windows' sums,
// every replica must have served windows and collect events, and every
// Service must end exactly as a single replica leaves it on the same input,
// down to its annotations and events log but for what differs from run to
// run (comparable).
func TestReplicasExactlyOnce(t *testing.T) {
	c := cluster.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	t0 := time.Now().UTC().Truncate(time.Second)
	three, logs := replicaRun(ctx, t, c, 3, t0)
	one, _ := replicaRun(ctx, t, c, 1, t0)
	if diff := cmp.Diff(one, three); diff != "" {
		t.Errorf("three replicas ended differently from one on the same input (-one +three):\n%s", diff)
	}
	for _, svc := range replicaServices {
		got := three[svc]
		t.Logf("%s: %s %s %s after %d windows; answers %v", svc, got.Phase, got.Outcome, got.Winner, got.Iteration, got.Answers)
		want := expectedCounts(t, c.Root, svc, t0, got.Answers)
		if diff := cmp.Diff(want, outcome{Trials: got.Trials, Count: got.Count}); diff != "" {
			t.Errorf("%s: counts differ from the applied windows' sums (-windows +state):\n%s", svc, diff)
		}
		for i, a := range got.Answers {
			if strings.HasPrefix(a, "200") && !strings.HasSuffix(a, "x1") && !strings.HasSuffix(a, "x0") {
				t.Errorf("%s step %d: %s: applied by more than one delivery", svc, i, a)
			}
		}
	}
	for k, l := range logs {
		windows, collects := strings.Count(l, `"type":"`+events.TypeMetricsObserved+`"`), countLog(l, "collect", "")
		t.Logf("replica %d: %d log lines about windows, %d collect events, %d conflicts logged", k, windows, collects, strings.Count(l, `"conflicts"`))
		if windows == 0 || collects == 0 {
			t.Errorf("replica %d served %d windows and %d collect events; want some of each on every replica", k, windows, collects)
		}
	}
	if t.Failed() {
		for k, l := range logs {
			t.Logf("replica %d log:\n%s", k, l)
		}
	}
}

// collectedEnd is what a collected run leaves that must not depend on how
// many replicas collected it.
type collectedEnd struct {
	Phase, Outcome, Winner string
	Iteration              int
	Traffic                map[string]int
	Data                   [][]stats.Data
	History                []experiment.Point
	// Dedupe is the state's dedupe keys: the start's alone, since the
	// collector's windows count once by its mark, not by keys.
	Dedupe string
}

// decisions is the history without its times: the split and the
// probabilities after each iteration.
func decisions(h experiment.History) []experiment.Point {
	out := slices.Clone(h.Points)
	for i := range out {
		out[i].Time = 0
	}
	return out
}

// TestCollectorFanOutAcrossReplicas runs canary-good through Prometheus
// with every tick delivered twice at once, as a redelivery may, on one
// replica and then on three: each tick fans out to a collect event per
// running experiment, which the Broker's Trigger spreads over the
// replicas. Both runs must fold in exactly what was served, each window
// once and by the end of that window, and end in the same state, with no
// dedupe key but the start's; with three, every replica must have
// collected.
func TestCollectorFanOutAcrossReplicas(t *testing.T) {
	var ends []collectedEnd
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) {
			s, p, x, ctx := upCollectedOn(t, "canary-good.yaml", 6, stack.PrometheusOptions{Copies: 2}, n, "fan-out-start", false)
			x.Scenario.Traffic.MaxIntervals = 6
			// Each window must be served on the split the experiment
			// set before it, and the state must then hold exactly what
			// was served so far: a stale Route or a request counted in
			// the wrong window shows here, where the end may hide it.
			x.OnWindow = func(i int, routed map[string]int, rec store.Record) error {
				h := rec.State.History.Points
				t.Logf("window %d: served on %v; then %v", i, routed, h[len(h)-1])
				if set := setBefore(rec.State.Versions, h); !maps.Equal(set, routed) {
					t.Errorf("window %d: served on %v, but the experiment had set %v", i, routed, set)
				}
				if diff := cmp.Diff(p.Served(), p.Folded(rec), cmpopts.EquateApprox(1e-9, 0)); diff != "" {
					t.Errorf("window %d: the state differs from what was served so far (-served +folded):\n%s", i, diff)
				}
				return nil
			}
			rec, err := s.RunCollected(ctx, x, p)
			if err != nil {
				t.Fatal(err)
			}
			exact(t, p, rec)
			t.Logf("%d replicas: %s %s after %d windows, traffic %v", n, rec.State.Phase, rec.State.Outcome, rec.State.Iteration, rec.State.Traffic)
			keys := startKeyAlone(t, rec)
			ends = append(ends, collectedEnd{string(rec.State.Phase), string(rec.State.Outcome), rec.State.Winner,
				rec.State.Iteration, rec.State.Traffic, rec.State.Data, decisions(rec.State.History), keys})
			for k, l := range s.ReplicaLogs() {
				applied := countLog(l, "collect", "applied")
				t.Logf("replica %d: %d collect events applied, %d ticks fanned out", k, applied, countLog(l, "tick", "applied"))
				if applied == 0 {
					t.Errorf("replica %d collected nothing: the collect events did not spread", k)
				}
			}
		})
	}
	if len(ends) == 2 {
		if diff := cmp.Diff(ends[0], ends[1], cmpopts.EquateApprox(1e-12, 0)); diff != "" {
			t.Errorf("three replicas ended differently from one on the same traffic (-one +three):\n%s", diff)
		}
	}
}

// setBefore is the split, by revision, that history's last window was
// served on: its second last point, the split set before it, provided the
// history keeps every iteration (as it does for short runs); nil if not.
func setBefore(versions []string, h []experiment.Point) map[string]int {
	n := len(h)
	if n < 2 || h[n-2].Iteration != h[n-1].Iteration-1 {
		return nil
	}
	out := map[string]int{}
	for k, w := range h[n-2].Traffic {
		if w > 0 && k < len(versions) {
			out[versions[k]] = w
		}
	}
	return out
}

// startKeyAlone returns the dedupe keys of rec's state, and fails unless
// they are the start's 12 bytes alone: the collector's windows and the
// load generator's bursts count once by the collector's mark, not by keys.
func startKeyAlone(t *testing.T, rec store.Record) string {
	t.Helper()
	var keys struct{ Dedupe string }
	if err := json.Unmarshal([]byte(rec.Service.Annotations[store.AnnotationState]), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys.Dedupe) != 12 {
		t.Errorf("%d bytes of dedupe keys after %d windows, want the start's 12 alone", len(keys.Dedupe), rec.State.Iteration)
	}
	return keys.Dedupe
}

// countLog counts the JSON log lines with message msg and, unless empty,
// outcome.
func countLog(log, msg, outcome string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg && (outcome == "" || m["outcome"] == outcome) {
			n++
		}
	}
	return n
}
