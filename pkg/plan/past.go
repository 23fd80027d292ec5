package plan

import (
	"fmt"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// WithPast names the estimator that is iter8's ETA on a Service with a
// history of experiment.PastCap past canaries (ETAOptions.Past).
var WithPast = fmt.Sprintf("iter8 with %d past canaries", experiment.PastCap)

// PastCanaries is the history a Service would have after k canaries like
// the scenarios, taken in turn: each run once to its end by the real
// engine (run i from the stream (seed, i), at its scenario's own rate and
// window), leaving what a finished canary leaves (experiment.PastOf),
// oldest first. A run that reaches its horizon undecided leaves its data
// too, as the canary would have at maxDuration.
func PastCanaries(scenarios []simulate.Scenario, k int, seed uint64) ([]experiment.Past, error) {
	var past []experiment.Past
	for i := range k {
		s := scenarios[i%len(scenarios)]
		if s.Experiment.Kind != events.KindCanary {
			return nil, fmt.Errorf("past canaries: scenario %s is a %s", s.Name, s.Experiment.Kind)
		}
		var last experiment.State
		_, err := simulate.RunAll(s, simulate.Options{Runs: 1, First: i, Seed: seed, Workers: 1, OnState: func(_ int, st experiment.State) { last = st }})
		if err != nil {
			return nil, fmt.Errorf("past canary %d (%s): %w", i, s.Name, err)
		}
		if !last.Phase.Terminal() {
			last.Phase = experiment.PhaseCompleted
		}
		p, ok := experiment.PastOf(s.Experiment.Defaulted(), last)
		if !ok {
			return nil, fmt.Errorf("past canary %d (%s): its candidate served no request", i, s.Name)
		}
		past = append(past, p)
	}
	return past, nil
}
