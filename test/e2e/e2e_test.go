package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/stack"
)

// startStack starts the stack with o, its Logf the test's, until the test
// ends, and logs the functions' log if the test failed.
func startStack(ctx context.Context, t *testing.T, o stack.Options) *stack.Stack {
	t.Helper()
	o.Logf = t.Logf
	s, err := stack.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("functions log:\n%s", s.FunctionsLog())
		}
		s.Stop()
	})
	return s
}

// up starts the functions on the shared control plane and deploys the
// scenario's versions into a fresh namespace.
func up(t *testing.T, scenario string, seed uint64) (*stack.Stack, stack.Experiment, context.Context) {
	t.Helper()
	c := cluster.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	s := startStack(ctx, t, stack.Options{Cluster: c, Broker: true})
	sc, err := simulate.LoadScenario(filepath.Join(c.Root, "test", "scenarios", scenario))
	if err != nil {
		t.Fatal(err)
	}
	x := stack.Experiment{Namespace: c.Namespace(t), Service: "shop", Scenario: sc, Seed: seed}
	if err := s.Deploy(ctx, x); err != nil {
		t.Fatal(err)
	}
	if err := s.StartExperiment(ctx, x); err != nil {
		t.Fatal(err)
	}
	return s, x, ctx
}

// consistent checks, after every window, that the Service's spec.traffic
// is the split the experiment state says, and that what the traffic
// simulator read from the Route was the previous split.
func consistent(t *testing.T, prev *map[string]int) func(int, map[string]int, store.Record) error {
	return func(i int, routed map[string]int, rec store.Record) error {
		if rec.State.Traffic != nil {
			want := map[string]int{}
			for v, p := range rec.State.Traffic {
				want[v] = p
			}
			if diff := cmp.Diff(want, store.Split(rec.Service)); diff != "" {
				return fmt.Errorf("window %d: spec.traffic differs from the experiment's split (-state +service):\n%s", i, diff)
			}
		}
		*prev = routed
		return nil
	}
}

// pastIsTheCandidate checks what a finished canary left on its Service
// for the next canary's ETA: exactly one past canary, whose counts are the
// final state's candidate data on every ratio metric. The store writes it
// in the same write as the final state, so rec, read once the canary has
// ended, holds it: there is nothing to wait for.
func pastIsTheCandidate(t *testing.T, rec store.Record) {
	t.Helper()
	st := rec.State
	want := experiment.Past{ID: st.ID, Outcome: st.Outcome, Ended: st.Since, Ratios: map[string]experiment.Count{}}
	for j, m := range rec.Spec.Metrics {
		if d := st.Data[1][j]; m.Type == events.MetricRatio && d.Trials > 0 {
			want.Ratios[m.Name] = experiment.Count{Successes: d.Successes, Trials: d.Trials}
		}
	}
	if rec.PastErr != nil {
		t.Fatalf("annotation %s: %v", store.AnnotationPast, rec.PastErr)
	}
	if diff := cmp.Diff([]experiment.Past{want}, rec.Past); diff != "" {
		t.Errorf("annotation %s (-final state +annotation):\n%s", store.AnnotationPast, diff)
	}
}

// ended fails t unless rec's experiment ended with outcome (and winner,
// when not empty) and its Service routes as want says, version by
// version; what names the experiment in the messages.
func ended(t *testing.T, what string, rec store.Record, outcome, winner string, want map[string]int) {
	t.Helper()
	if st := rec.State; st.Phase != experiment.PhaseCompleted || st.Outcome != outcome || st.Winner != winner {
		t.Fatalf("%s: phase %s outcome %s winner %q (%s); want %s, winner %q", what, st.Phase, st.Outcome, st.Winner, st.Reason, outcome, winner)
	}
	got := store.Split(rec.Service)
	for v, p := range want {
		if got[v] != p {
			t.Errorf("%s: final split %v, want %s at %d", what, got, v, p)
		}
	}
}

// TestCanaryGoodIsPromoted runs a good canary to its promotion, then the
// Service's next canary, a bad one, whose ETA takes the first as its prior
// (secondCanary).
func TestCanaryGoodIsPromoted(t *testing.T) {
	s, x, ctx := up(t, "canary-good.yaml", 1)
	var routed map[string]int
	x.OnWindow = consistent(t, &routed)
	rec, err := s.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	ended(t, "good canary", rec, events.OutcomePromoted, "shop-v2", map[string]int{"shop-v2": 100})
	pastIsTheCandidate(t, rec)
	if err := s.Cluster.WaitServiceTraffic(ctx, x.Namespace, x.Service, map[string]int{"shop-v1": 0, "shop-v2": 100}); err != nil {
		t.Error(err)
	}
	if !t.Failed() {
		secondCanary(ctx, t, s, x, rec.Past[0])
	}
}

func TestCanaryBadErrorsIsRolledBack(t *testing.T) {
	s, x, ctx := up(t, "canary-bad-errors.yaml", 2)
	var routed map[string]int
	check := consistent(t, &routed)
	served := map[string]int64{}
	x.OnWindow = func(i int, r map[string]int, rec store.Record) error {
		for v, p := range r {
			served[v] += int64(p) * x.Scenario.Traffic.RequestsPerInterval / 100
		}
		return check(i, r, rec)
	}
	rec, err := s.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	ended(t, "bad canary", rec, events.OutcomeRolledBack, "", map[string]int{"shop-v1": 100})
	pastIsTheCandidate(t, rec)
	total := served["shop-v1"] + served["shop-v2"]
	share := float64(served["shop-v2"]) / float64(max(total, 1))
	t.Logf("the failing candidate served %d of %d requests (%.1f%%) before the rollback at iteration %d",
		served["shop-v2"], total, 100*share, rec.State.Iteration)
	if share > 0.2 {
		t.Errorf("the failing candidate served %.1f%% of the traffic; the canary should have held it near its 10%% start", 100*share)
	}
}

func TestABNPromotesBestFeasible(t *testing.T) {
	s, x, ctx := up(t, "abn-three.yaml", 3)
	var routed map[string]int
	check := consistent(t, &routed)
	x.OnWindow = func(i int, r map[string]int, rec store.Record) error {
		if err := check(i, r, rec); err != nil {
			return err
		}
		return describedMatches(ctx, s, x, rec)
	}
	rec, err := s.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	// shop-v2 is the best version that meets the error SLO.
	ended(t, "abn", rec, events.OutcomePromoted, "shop-v2", map[string]int{"shop-v2": 100, "shop-v3": 0})
}

func TestPerformanceVerdict(t *testing.T) {
	s, x, ctx := up(t, "performance-pass.yaml", 4)
	rec, err := s.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State.Outcome != events.OutcomePassed {
		t.Fatalf("outcome %s (%s); want passed", rec.State.Outcome, rec.State.Reason)
	}
}

// TestPauseResumeAbort controls an A/B/n experiment mid-run: while paused
// traffic is frozen though data is still counted; resume lets it move again;
// abort rolls back to the baseline.
func TestPauseResumeAbort(t *testing.T) {
	s, x, ctx := up(t, "abn-three.yaml", 5)
	subject := events.Subject(x.Namespace, x.Service)
	// The controls come early: the decision rules need only a few windows
	// of this scenario to promote shop-v2, and the abort must find the
	// experiment still running.
	const pauseAt, resumeAt, abortAt = 1, 3, 4
	var pausedSplit map[string]int
	var pausedIter int
	x.Before = func(ctx context.Context, i int) error {
		var action string
		switch i {
		case pauseAt:
			action = events.ActionPause
		case resumeAt:
			action = events.ActionResume
		case abortAt:
			action = events.ActionAbort
		default:
			return nil
		}
		if _, _, err := s.Send(ctx, events.TypeExperimentControl, subject, events.Control{Action: action, Reason: "e2e"}); err != nil {
			return err
		}
		rec, err := s.Store.Get(ctx, x.Namespace, x.Service)
		if err != nil {
			return err
		}
		if action == events.ActionPause {
			pausedSplit, pausedIter = store.Split(rec.Service), rec.State.Iteration
		}
		return nil
	}
	x.OnWindow = func(i int, routed map[string]int, rec store.Record) error {
		if i >= pauseAt && i < resumeAt {
			if rec.State.Phase != experiment.PhasePaused {
				return fmt.Errorf("window %d: phase %s, want Paused", i, rec.State.Phase)
			}
			if diff := cmp.Diff(pausedSplit, store.Split(rec.Service)); diff != "" {
				return fmt.Errorf("window %d: traffic moved while paused:\n%s", i, diff)
			}
			if rec.State.Iteration != pausedIter+(i-pauseAt+1) {
				return fmt.Errorf("window %d: iteration %d; paused windows must still be counted", i, rec.State.Iteration)
			}
		}
		return nil
	}
	rec, err := s.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	ended(t, "aborted abn", rec, events.OutcomeAborted, "", map[string]int{"shop-v1": 100})
}
