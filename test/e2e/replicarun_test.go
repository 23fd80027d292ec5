package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/stack"
)

// This file is TestReplicasExactlyOnce's harness: the script every run
// delivers, the run on n replicas, and what a run must leave the same.

// A step is one event of a Service's script: a window or a control.
type step struct {
	typ  string
	data any
}

// script is the same input for every run: per Service, windows of
// canary-good drawn at a fixed 50/50 split (so that they do not depend on
// the decisions they lead to), with a pause after the second and a resume
// after the fourth.
func script(t *testing.T, root string, service string, seed uint64, t0 time.Time) []step {
	t.Helper()
	sc, err := simulate.LoadScenario(filepath.Join(root, "test", "scenarios", "canary-good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := simulate.NewGenerator(sc, seed)
	if err != nil {
		t.Fatal(err)
	}
	var steps []step
	for i := range 10 {
		switch i {
		case 2:
			steps = append(steps, step{events.TypeExperimentControl, events.Control{Action: events.ActionPause, Reason: "replica test"}})
		case 4:
			steps = append(steps, step{events.TypeExperimentControl, events.Control{Action: events.ActionResume}})
		}
		start := t0.Add(time.Duration(i) * time.Minute)
		w := gen.Window(start, start.Add(time.Minute), sc.Traffic.RequestsPerInterval, map[string]int{"v1": 50, "v2": 50})
		obs := events.NewMetricsObserved(w.Window.Start.Time, w.Window.End.Time)
		for v, ms := range w.Versions {
			for m, o := range ms {
				obs.Set(service+"-"+v, m, o)
			}
		}
		steps = append(steps, step{events.TypeMetricsObserved, obs})
	}
	return steps
}

// outcome is what a run left on one Service and how each step was
// answered: what must not depend on how many replicas served it, down to
// the split and probabilities after every iteration.
type outcome struct {
	Phase, Outcome, Winner string
	Iteration              int
	Traffic                map[string]int
	Trials, Count          map[string]float64
	// History is the split and probabilities after every iteration.
	History []experiment.Point
	// Answers are each step's status, and how many of its deliveries
	// applied it (answered with a reply).
	Answers []string
	// Annotations are iter8's annotations on the Service but for what
	// differs from run to run (see comparable): the state, the events log,
	// the assessment, the status line and the past canaries.
	Annotations map[string]string
}

// comparable returns iter8's annotations without what legitimately
// differs from run to run and replica to replica: what a replica's clock
// stamps (the state's started, updated, since and pausedFor, its
// history's times, the events log's times and ids, a hash that includes
// the time, the past canaries' ends), and the dedupe keys, of which only
// their number is kept: a window's key hashes its Service's namespace, and
// each run has its own.
// Everything else must not depend on how many replicas served the events.
func comparable(t *testing.T, ann map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range ann {
		if !strings.HasPrefix(k, events.Prefix) {
			continue
		}
		var doc any
		switch k {
		case store.AnnotationState, store.AnnotationEvents, store.AnnotationPast:
			if err := json.Unmarshal([]byte(v), &doc); err != nil {
				t.Fatalf("annotation %s: %v", k, err)
			}
		default:
			out[k] = v
			continue
		}
		if st, ok := doc.(map[string]any); ok {
			for _, f := range []string{"started", "updated", "since", "pausedFor"} {
				delete(st, f)
			}
			keys, _ := st["dedupe"].(string)
			st["dedupe"] = fmt.Sprintf("%d keys", len(keys)/12)
			if h, ok := st["history"].(map[string]any); ok {
				if points, ok := h["points"].([]any); ok {
					for _, p := range points {
						delete(p.(map[string]any), "t")
					}
				}
			}
		}
		if list, ok := doc.([]any); ok {
			for _, e := range list {
				if k == store.AnnotationPast {
					// Ended when the run's canary ended, by its clock.
					delete(e.(map[string]any), "ended")
					continue
				}
				delete(e.(map[string]any), "id")
				delete(e.(map[string]any), "time")
			}
		}
		b, _ := json.Marshal(doc)
		out[k] = string(b)
	}
	return out
}

// replicaRun starts the functions with n replicas behind the Broker's
// Triggers, runs every Service's script at once, each step delivered to
// every replica at the same moment (so that the replicas race for the same
// Service), while ticks go through the Broker and fan out to collect
// events for every running experiment, until the scripts end. It returns
// each Service's outcome and the replicas' logs.
func replicaRun(ctx context.Context, t *testing.T, c *cluster.Cluster, n int, t0 time.Time) (map[string]outcome, []string) {
	t.Helper()
	s, err := stack.Start(ctx, stack.Options{Cluster: c, Logf: t.Logf, Broker: true, Replicas: n})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ns := c.Namespace(t)
	for i, svc := range replicaServices {
		x := stack.Experiment{Namespace: ns, Service: svc, Scenario: mustScenario(t, c, "canary-good.yaml"), Seed: uint64(i + 1)}
		if err := s.Deploy(ctx, x); err != nil {
			t.Fatal(err)
		}
		// The same start event in every run: the experiment's id, and so
		// its Monte Carlo seeds, are the same.
		start, err := events.New(events.TypeExperimentStart, "/iter8/replica-test", events.Subject(ns, svc), t0, x.Spec())
		if err != nil {
			t.Fatal(err)
		}
		start.SetID("start-" + svc)
		if reply, err := s.SendEvent(ctx, start); err != nil || reply != events.TypeExperimentStarted {
			t.Fatalf("start %s: reply %q, %v", svc, reply, err)
		}
	}

	done := make(chan struct{})
	ticks := make(chan error, 1)
	go func() {
		// Ticks back to back while the scripts run: each is answered once
		// its collect events have been handled, which paces the loop.
		var err error
		for i := 0; err == nil; i++ {
			select {
			case <-done:
				ticks <- nil
				return
			default:
			}
			err = s.Tick(ctx, fmt.Sprintf("%s-tick-%d", ns, i))
		}
		ticks <- err
	}()
	results := map[string]outcome{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, svc := range replicaServices {
		wg.Go(func() {
			answers := deliver(ctx, t, s, ns, svc, t0, script(t, c.Root, svc, uint64(i+1), t0.Add(time.Minute)))
			mu.Lock()
			results[svc] = outcome{Answers: answers}
			mu.Unlock()
		})
	}
	wg.Wait()
	close(done)
	if err := <-ticks; err != nil {
		t.Errorf("tick: %v", err)
	}
	for _, svc := range replicaServices {
		rec, err := s.Store.Get(ctx, ns, svc)
		if err != nil {
			t.Fatal(err)
		}
		o := results[svc]
		o.Phase, o.Outcome, o.Winner = string(rec.State.Phase), string(rec.State.Outcome), rec.State.Winner
		o.Iteration, o.Traffic, o.History = rec.State.Iteration, rec.State.Traffic, decisions(rec.State.History)
		o.Annotations = comparable(t, rec.Service.Annotations)
		o.Trials, o.Count = map[string]float64{}, map[string]float64{}
		for vi, v := range rec.State.Versions {
			o.Trials[v] = rec.State.Data[vi][0].Trials // errors
			o.Count[v] = rec.State.Data[vi][1].Count   // latency
		}
		results[svc] = o
	}
	return results, s.ReplicaLogs()
}

// deliver sends each step of a script to every replica at once, the same
// event each time (a redelivery), and waits for every answer before the
// next step. Each answer is "STATUS xAPPLIED".
func deliver(ctx context.Context, t *testing.T, s *stack.Stack, ns, svc string, t0 time.Time, steps []step) []string {
	var answers []string
	for i, st := range steps {
		e, err := events.New(st.typ, "/iter8/replica-test", events.Subject(ns, svc), t0.Add(time.Duration(i)*time.Second), st.data)
		if err != nil {
			t.Error(err)
			return answers
		}
		e.SetID(fmt.Sprintf("%s-step-%d", svc, i))
		statuses := make([]int, len(s.FunctionsURLs))
		replies := make([]string, len(s.FunctionsURLs))
		var wg sync.WaitGroup
		for k, url := range s.FunctionsURLs {
			wg.Go(func() { statuses[k], replies[k], _ = s.SendTo(ctx, url, e) })
		}
		wg.Wait()
		applied := 0
		for k := range statuses {
			if statuses[k] != statuses[0] {
				t.Errorf("%s step %d: answers %v differ between replicas", svc, i, statuses)
			}
			if replies[k] != "" {
				applied++
			}
		}
		answers = append(answers, fmt.Sprintf("%d x%d", statuses[0], applied))
	}
	return answers
}

func mustScenario(t *testing.T, c *cluster.Cluster, name string) simulate.Scenario {
	t.Helper()
	sc, err := simulate.LoadScenario(filepath.Join(c.Root, "test", "scenarios", name))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// expectedCounts sums the windows of svc's script that were answered 200
// and applied: the experiment's data must hold exactly these.
func expectedCounts(t *testing.T, root, svc string, t0 time.Time, answers []string) outcome {
	t.Helper()
	want := outcome{Trials: map[string]float64{}, Count: map[string]float64{}}
	i := slices.Index(replicaServices, svc)
	for k, st := range script(t, root, svc, uint64(i+1), t0.Add(time.Minute)) {
		obs, ok := st.data.(events.MetricsObserved)
		if !ok || k >= len(answers) || !strings.HasPrefix(answers[k], "200") {
			continue
		}
		for v, ms := range obs.Versions {
			if o, ok := ms["errors"]; ok && o.Trials != nil {
				want.Trials[v] += float64(*o.Trials)
			}
			if o, ok := ms["latency"]; ok && o.Count != nil {
				want.Count[v] += float64(*o.Count)
			}
		}
	}
	return want
}
