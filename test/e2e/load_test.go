package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/stack"
)

// loadSpec is a performance test of shop-v1 with built-in load: bursts of
// 150 requests at 100 requests/s, on errors and the p95 latency read on
// Knative's queue-proxy buckets (…, 100, 250, 500, … ms).
func loadSpec(errorLimit, p95Limit float64) events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindPerformance, Baseline: "shop-v1",
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio},
			{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms"},
		},
		Objectives: []events.Objective{
			{Metric: "errors", UpperLimit: &errorLimit},
			{Metric: "latency-p95", UpperLimit: &p95Limit},
		},
		Limits: events.Limits{MinSamples: 100},
		Load: &events.LoadSpec{Rate: 100, Requests: 150, Concurrency: 100,
			WarmUp: &events.Duration{Duration: 200 * time.Millisecond}},
	}
}

// TestLoadDecidesPerformance runs performance tests whose only traffic is
// the functions' own load: PingSource ticks make the real iter8-functions
// send bursts over the Route's tag URL, through the local stack's cluster
// routing, to a real HTTP server that stands in for the revision with a
// known latency and error distribution. The verdict must match the truth,
// for a limit on a bucket bound (250 ms) and one inside a bucket (600 ms,
// inside (500, 750]).
func TestLoadDecidesPerformance(t *testing.T) {
	c := cluster.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	proxy, err := c.ProxyEnv()
	if err != nil {
		t.Fatal(err)
	}
	s := startStack(ctx, t, stack.Options{Cluster: c, Env: proxy})
	// The stand-in's latencies are measured end to end on a busy 2-core
	// machine, where scheduling adds a tail of its own; the truths and
	// limits keep the true p95 far from every limit so that the verdict
	// is the truth's, not the machine's.
	fast := stack.Truth{Fast: 5 * time.Millisecond, ErrorRate: 0.005}
	slow := stack.Truth{Fast: 5 * time.Millisecond, Slow: time.Second, SlowShare: 0.2}
	tests := []struct {
		name        string
		truth       stack.Truth
		spec        events.ExperimentSpec
		wantOutcome string
		wantFailing string // the objective's metric the verdict names
	}{
		// True p95 below 20 ms: shown below 250 and below 500, the bound
		// under 600.
		{"fast server passes, limit on a bucket bound", fast, loadSpec(0.05, 250), events.OutcomePassed, ""},
		{"fast server passes, limit inside a bucket", fast, loadSpec(0.05, 600), events.OutcomePassed, ""},
		// True p95 1 s, in (750, 1000]: shown above 250, and above 750,
		// the bound over 600.
		{"slow p95 fails, limit on a bucket bound", slow, loadSpec(0.05, 250), events.OutcomeFailedSLO, "latency-p95"},
		{"slow p95 fails, limit inside a bucket", slow, loadSpec(0.05, 600), events.OutcomeFailedSLO, "latency-p95"},
		{"error rate fails", stack.Truth{Fast: 5 * time.Millisecond, ErrorRate: 0.3}, loadSpec(0.05, 250), events.OutcomeFailedSLO, "errors"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.truth.Seed = uint64(i + 1)
			rev, err := stack.StartRevision(tc.truth)
			if err != nil {
				t.Fatal(err)
			}
			defer rev.Stop()
			ns := c.Namespace(t)
			if err := c.DeployRevisions(ctx, ns, "shop", stack.Image, "v1"); err != nil {
				t.Fatal(err)
			}
			if err := s.TagRevision(ctx, ns, "shop", "shop-v1", "v1"); err != nil {
				t.Fatal(err)
			}
			if err := s.StartLoad(ctx, ns, "shop", tc.spec); err != nil {
				t.Fatal(err)
			}
			// An experiment left running would get bursts from the next
			// subtests' ticks.
			defer func() {
				_, _, _ = s.Send(ctx, events.TypeExperimentControl, events.Subject(ns, "shop"), events.Control{Action: events.ActionAbort})
			}()
			tagURL, err := s.RouteTag(ctx, ns, "shop", "shop-v1", rev)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if u, err := url.Parse(tagURL); err == nil {
					_ = c.Route(u.Hostname(), "")
				}
			}()
			rec, err := s.RunLoad(ctx, ns, "shop", 30, func(i int, rec store.Record) {
				if rec.State.Last != nil {
					t.Logf("tick %d: %s", i, rec.State.Last.Decision)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			st := rec.State
			t.Logf("ended: %s %s: %s; %s", st.Phase, st.Outcome, st.Reason, st.Load.Line())
			if st.Phase != experiment.PhaseCompleted || st.Outcome != tc.wantOutcome {
				t.Fatalf("ended %s %s (%s), want Completed %s", st.Phase, st.Outcome, st.Reason, tc.wantOutcome)
			}
			if tc.wantFailing != "" && !strings.Contains(st.Reason, tc.wantFailing) {
				t.Errorf("reason %q does not name %s", st.Reason, tc.wantFailing)
			}
			served, _ := rev.Served()
			if st.Load == nil || st.Load.Sent == 0 || st.Load.Sent > served {
				t.Fatalf("load status %+v, but the revision served %d requests", st.Load, served)
			}
			// Every counted request reached the stand-in revision; the
			// rest it served were warm-up or bursts a tick retried.
			if got := rec.State.Data[0][0].Trials; got != float64(st.Load.Sent) {
				t.Errorf("errors metric has %v trials, the load status %d requests", got, st.Load.Sent)
			}
			startKeyAlone(t, rec)
		})
	}
}
