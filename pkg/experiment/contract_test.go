package experiment

import (
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// TestEmittedEventsAreValid checks every event the engine emits, in every
// kind of ending, against the events package's own validation: consumers
// are promised that contract.
func TestEmittedEventsAreValid(t *testing.T) {
	good := map[string]draw{"errors": bernoulli(0.002), "latency": lognormal(4, 0.3)}
	bad := map[string]draw{"errors": bernoulli(0.05), "latency": lognormal(4, 0.3)}
	abnTruth := map[string]map[string]draw{
		"v1": {"conversion": bernoulli(0.10), "errors": bernoulli(0.001)},
		"v2": {"conversion": bernoulli(0.20), "errors": bernoulli(0.001)},
		"v3": {"conversion": bernoulli(0.25), "errors": bernoulli(0.05)},
	}
	perf := map[string]draw{"errors": bernoulli(0.002), "latency-p95": lognormal(5, 0.3)}
	var all []Outbound
	collect := func(_ State, _ []string, out []Outbound) { all = append(all, out...) }
	collect(runEmitting(t, canarySpec(), map[string]map[string]draw{"v1": good, "v2": good}, 500, 200, 1, false))
	collect(runEmitting(t, canarySpec(), map[string]map[string]draw{"v1": good, "v2": bad}, 500, 200, 2, false))
	collect(runEmitting(t, abnSpec(), abnTruth, 1000, 300, 3, false))
	collect(runEmitting(t, perfSpec(), map[string]map[string]draw{"v1": perf}, 500, 100, 4, false))

	for _, spec := range []events.ExperimentSpec{canarySpec(), abnSpec(), perfSpec()} {
		st := mustStart(t, spec)
		for _, c := range []events.Control{{Action: events.ActionAbort}, {Action: events.ActionPromote, Version: "v1"}} {
			if _, res, err := New().Control(spec, st, c, t0); err == nil {
				all = append(all, res.Emit...)
			}
		}
		_, res, err := New().Tick(spec, st, t0.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, res.Emit...)
		for _, f := range []Failure{{Reason: ""}, {OnFailure: true}, {Gone: []string{spec.Baseline}}} {
			_, res, err = New().Fail(spec, st, f, t0)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, res.Emit...)
		}
	}

	seen := map[string]int{}
	for _, o := range (Result{Emit: all}).WithService("shop").Emit {
		seen[o.Type]++
		v, ok := o.Data.(interface{ Validate() error })
		if !ok {
			t.Fatalf("%s data %T has no Validate", o.Type, o.Data)
		}
		if err := v.Validate(); err != nil {
			t.Errorf("%s: %v\n%s", o.Type, err, mustJSON(t, o.Data))
		}
	}
	for _, typ := range []string{events.TypeExperimentStarted, events.TypeExperimentAssessed, events.TypeTrafficChanged,
		events.TypeExperimentCompleted, events.TypeExperimentFailed} {
		if seen[typ] == 0 {
			t.Errorf("no %s event was checked", typ)
		}
	}
}
