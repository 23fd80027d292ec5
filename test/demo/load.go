package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/stack"
)

// loadSpec is the demo's performance test with built-in load: a staging
// version with no users, tested at 50 requests/s in 2 s bursts, one per
// tick.
func loadSpec() events.ExperimentSpec {
	errors, p95 := 0.02, 250.0
	return events.ExperimentSpec{
		Kind: events.KindPerformance, Baseline: "shop-v1",
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio},
			{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms"},
		},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: &errors}, {Metric: "latency-p95", UpperLimit: &p95}},
		Limits:     events.Limits{MinSamples: 200},
		Load: &events.LoadSpec{Rate: 50, Duration: &events.Duration{Duration: 2 * time.Second}, Concurrency: 16,
			Target: "/api/cart", WarmUp: &events.Duration{Duration: 500 * time.Millisecond}},
	}
}

// runLoad is `make demo KIND=performance-load`: a performance test whose
// only traffic is iter8's own load. A real HTTP server stands in for the
// revision (5 to 10 ms, 0.5% errors), reached over the Route's tag URL
// through the local stack's cluster routing; ticks make the functions send
// one burst each until the experiment decides.
func runLoad(ctx context.Context, began time.Time) error {
	const ns, service = "demo", "shop"
	s, down, err := up(ctx, stack.Options{Logf: say, Broker: true, CronTicks: true}, ns)
	if err != nil {
		return err
	}
	defer down()
	if err := s.Cluster.DeployRevisions(ctx, ns, service, stack.Image, "v1"); err != nil {
		return err
	}
	rev, err := stack.StartRevision(stack.Truth{Fast: 5 * time.Millisecond, ErrorRate: 0.005, Seed: 1})
	if err != nil {
		return err
	}
	defer rev.Stop()
	say("a real HTTP server stands in for revision shop-v1 at %s: 5-10 ms per request, 0.5%% errors; no other traffic", rev.Addr)
	spec := loadSpec()
	say("tagging shop-v1 as v1, as `kn service update shop --traffic shop-v1=100 --tag shop-v1=v1` would: the load goes to its tag URL")
	if err := s.TagRevision(ctx, ns, service, spec.Baseline, "v1"); err != nil {
		return err
	}
	block, _ := json.Marshal(spec.Load)
	say("sending dev.iter8.experiment.start: performance test of %s with load %s", spec.Baseline, block)
	if err := knStartSpec(ctx, s, ns, service, spec); err != nil {
		return err
	}
	tagURL, err := s.RouteTag(ctx, ns, service, spec.Baseline, rev)
	if err != nil {
		return err
	}
	defer func() {
		if u, err := url.Parse(tagURL); err == nil {
			_ = s.Cluster.Route(u.Hostname(), "")
		}
	}()
	say("each %s tick makes the functions send one burst to %s and fold in what it measured", events.TypePing, tagURL)
	rec, err := s.RunLoad(ctx, ns, service, 30, func(i int, rec store.Record) {
		say("tick %2d  %s", i+1, rec.Service.Annotations[store.AnnotationStatus])
	})
	if err != nil {
		return err
	}
	served, failed := rev.Served()
	say("experiment %s: %s (%s)", rec.State.Phase, rec.State.Outcome, rec.State.Reason)
	say("the stand-in revision served %d requests (%d failed), warm-up included; the experiment counted %d", served, failed, rec.State.Load.Sent)
	if rec.State.Phase != experiment.PhaseCompleted || rec.State.Outcome != events.OutcomePassed {
		return fmt.Errorf("the performance test of a server that meets its objectives ended %s %s", rec.State.Phase, rec.State.Outcome)
	}
	if plugin := pluginCommand(s); plugin != nil {
		show(plugin("describe", service, "-n", ns))
		report := filepath.Join(s.Cluster.Root, "out", "report-performance-load.html")
		_ = os.MkdirAll(filepath.Dir(report), 0o755)
		if out, err := plugin("report", service, "-n", ns, "--output-file", report); err == nil {
			say("report written to %s", report)
		} else {
			say("report failed: %v\n%s", err, out)
		}
	}
	say("demo finished in %s", time.Since(began).Round(time.Second))
	return nil
}
