package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/stack"
)

// collectedInterval is each simulated interval's real length: about what
// one scrape, the collector's delay and a tick take, so that the tests
// run as fast as the loop allows.
const collectedInterval = 500 * time.Millisecond

// upCollected is up through Prometheus: fake queue-proxy targets for the
// scenario's revisions, a real Prometheus scraping them, the functions
// with the collector on, the revisions deployed and the experiment started
// with query templates for its custom metrics.
func upCollected(t *testing.T, scenario string, seed uint64, o stack.PrometheusOptions) (*stack.Stack, *stack.PrometheusPath, stack.Experiment, context.Context) {
	t.Helper()
	return upCollectedOn(t, scenario, seed, o, 1, "", false)
}

// upCollectedOn is upCollected with the functions' replicas, the start
// event's id unless empty, and config/'s PingSource on its schedule when
// cron (stack.Options.CronTicks).
func upCollectedOn(t *testing.T, scenario string, seed uint64, o stack.PrometheusOptions, replicas int, startID string, cron bool) (*stack.Stack, *stack.PrometheusPath, stack.Experiment, context.Context) {
	t.Helper()
	c := cluster.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	sc, err := simulate.LoadScenario(filepath.Join(c.Root, "test", "scenarios", scenario))
	if err != nil {
		t.Fatal(err)
	}
	x := stack.Experiment{Namespace: c.Namespace(t), Service: "shop", Scenario: sc, Seed: seed, Interval: collectedInterval}
	o.Logf = t.Logf
	p, err := stack.NewPrometheusPath(ctx, x, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.Prometheus.Log())
		}
		p.Stop()
	})
	s := startStack(ctx, t, stack.Options{Cluster: c, Env: p.Env(), Broker: true, Replicas: replicas, CronTicks: cron})
	if err := s.Deploy(ctx, x); err != nil {
		t.Fatal(err)
	}
	start := s.StartCollected
	if startID != "" {
		start = func(ctx context.Context, p *stack.PrometheusPath) error { return s.StartCollectedAs(ctx, p, startID) }
	}
	if err := start(ctx, p); err != nil {
		t.Fatal(err)
	}
	return s, p, x, ctx
}

// exact checks that the experiment accumulated exactly what the traffic
// simulator served through Prometheus: counts to the request, sums to
// rounding.
func exact(t *testing.T, p *stack.PrometheusPath, rec store.Record) {
	t.Helper()
	served := p.Served()
	if diff := cmp.Diff(served, p.Folded(rec), cmpopts.EquateApprox(1e-9, 0)); diff != "" {
		t.Errorf("the experiment's data differs from what was served (-served +folded):\n%s", diff)
	}
	for rev, ms := range served {
		for m, tally := range ms {
			t.Logf("served through Prometheus: %s %s: %+v", rev, m, tally)
		}
	}
}

// TestCollectorDrivesCanary runs canary-good through the loop a cluster
// has: traffic served on queue-proxy targets, scraped by Prometheus, read
// by the collector on each tick. It must reach the direct path's decision
// (TestCanaryGoodIsPromoted) with exactly the served requests. A tick
// delivered again must add nothing, and so must a folded window sent again
// as the collector's event (deduplicated by its window id).
func TestCollectorDrivesCanary(t *testing.T) {
	began := time.Now()
	// Ten windows of the baseline alone before the start: the history a
	// canary's ETA reads (describe --prometheus at window 3).
	s, p, x, ctx := upCollected(t, "canary-good.yaml", 1, stack.PrometheusOptions{Before: 10})
	var routed map[string]int
	check := consistent(t, &routed)
	var redelivered, resent, described bool
	var lastEnd time.Time
	x.OnWindow = func(i int, r map[string]int, rec store.Record) error {
		if err := check(i, r, rec); err != nil {
			return err
		}
		from := lastEnd
		lastEnd = rec.State.Collected.Time
		switch i {
		case 1:
			// The same tick again: its window starts where the last
			// one ended and holds no requests, so nothing changes.
			if err := s.Tick(ctx, stack.TickID(x, i)); err != nil {
				return err
			}
			redelivered = true
			return unchanged(ctx, s, x, i, rec, "the redelivered tick")
		case 2:
			// The window the tick just folded in, collected again and
			// sent as the collector's event: its id is the window's, so
			// it is a duplicate.
			c, err := collector.New(p.Prometheus.URL())
			if err != nil {
				return err
			}
			obs, _, err := c.Collect(ctx, x.Namespace, x.Service, p.Spec(), rec.State.Versions, from, lastEnd)
			if err != nil {
				return err
			}
			e, err := collector.Event(x.Namespace, x.Service, obs)
			if err != nil {
				return err
			}
			reply, err := s.SendEvent(ctx, e)
			if err != nil {
				return err
			}
			if reply != "" {
				return fmt.Errorf("window %d sent again as %s %s: reply %s, want none (a duplicate)", i, e.Type(), e.ID(), reply)
			}
			resent = true
			return unchanged(ctx, s, x, i, rec, "the window sent again")
		case 3:
			// The ETA of a running canary, with the baseline's history
			// read from this Prometheus.
			warnings, err := describedWithHistory(ctx, s, x, p.Prometheus.URL())
			t.Logf("describe --prometheus at window %d: stderr %q", i, warnings)
			described = true
			return err
		}
		return nil
	}
	started := time.Now()
	rec, err := s.RunCollected(ctx, x, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("decided after %d windows in %s (%s with the stack's start-up)", rec.State.Iteration, time.Since(started).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if !redelivered || !resent || !described {
		t.Errorf("the experiment ended before the tick (%v) and the window (%v) could be delivered again, or describe run (%v)", redelivered, resent, described)
	}
	if rec.State.Outcome != events.OutcomePromoted || rec.State.Winner != "shop-v2" {
		t.Fatalf("phase %s outcome %s winner %s (%s); want the candidate promoted, as on the direct path", rec.State.Phase, rec.State.Outcome, rec.State.Winner, rec.State.Reason)
	}
	exact(t, p, rec)
	if err := s.Cluster.WaitServiceTraffic(ctx, x.Namespace, x.Service, map[string]int{"shop-v1": 0, "shop-v2": 100}); err != nil {
		t.Error(err)
	}
}

// unchanged checks that what was delivered again after window i left the
// experiment as it was.
func unchanged(ctx context.Context, s *stack.Stack, x stack.Experiment, i int, rec store.Record, what string) error {
	again, err := s.Store.Get(ctx, x.Namespace, x.Service)
	if err != nil {
		return err
	}
	if diff := cmp.Diff(rec.State, again.State); diff != "" {
		return fmt.Errorf("window %d: %s changed the experiment (-before +after):\n%s", i, what, diff)
	}
	return nil
}

// TestCollectorDrivesABN runs abn-three through Prometheus: errors and
// latency from the queue-proxy's histogram, conversion from the
// application's counters through a query template.
func TestCollectorDrivesABN(t *testing.T) {
	s, p, x, ctx := upCollected(t, "abn-three.yaml", 3, stack.PrometheusOptions{})
	var routed map[string]int
	x.OnWindow = consistent(t, &routed)
	started := time.Now()
	rec, err := s.RunCollected(ctx, x, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("decided after %d windows in %s", rec.State.Iteration, time.Since(started).Round(time.Millisecond))
	if rec.State.Outcome != events.OutcomePromoted || rec.State.Winner != "shop-v2" {
		t.Fatalf("outcome %s winner %s (%s); want shop-v2, the best version that meets the error SLO", rec.State.Outcome, rec.State.Winner, rec.State.Reason)
	}
	exact(t, p, rec)
}

// TestCollectorCountsConcurrentTicksOnce delivers every tick twice at
// once, as an at-least-once delivery whose first attempt timed out may:
// each window must still be folded in once.
func TestCollectorCountsConcurrentTicksOnce(t *testing.T) {
	s, p, x, ctx := upCollected(t, "canary-good.yaml", 6, stack.PrometheusOptions{Copies: 2})
	x.Scenario.Traffic.MaxIntervals = 4
	rec, err := s.RunCollected(ctx, x, p)
	if err != nil {
		t.Fatal(err)
	}
	exact(t, p, rec)
}
