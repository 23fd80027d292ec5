package plan

import (
	"testing"

	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// A long horizon is simulated in folded windows; the canary must still
// ramp as fast in time as it does window by window, or its ETA grows with
// the fold (it did: 3 folded windows ramped 3 times slower).
func TestFoldedCanaryRampsAsFastInTime(t *testing.T) {
	s := load(t, "canary-good")
	// At 50 requests a window the ramp, not the samples, sets the pace.
	s.Traffic.RequestsPerInterval = 50
	first := stateAt(t, s, 3, 1)
	// At the point estimates: the draws of a folded and an unfolded ETA
	// differ, and the ramp is what is measured here.
	fine, err := Estimate(s.Experiment, first, ETAOptions{Runs: 60, Horizon: 100, Point: true})
	if err != nil {
		t.Fatal(err)
	}
	const f = 4
	coarse, err := Estimate(s.Experiment, first, ETAOptions{Runs: 60, Horizon: f * ETAMaxWindows, Point: true})
	if err != nil {
		t.Fatal(err)
	}
	// A folded window decides only at its end: up to f-1 windows later.
	if coarse.Windows > fine.Windows+f || coarse.Windows < fine.Windows {
		t.Errorf("folded %d-fold: median %v windows; window by window %v: want within [%v, %v]", f, coarse.Windows, fine.Windows, fine.Windows, fine.Windows+f)
	}
}

// An ETA draws each run's truth from the posterior, so its spread carries
// what the data do not know yet and is wider than at the point estimates:
// an A/B's, and a canary's (canaryprior.go) and a performance test's.
func TestETADrawsFromThePosterior(t *testing.T) {
	for _, c := range []struct {
		scenario string
		wider    bool
	}{{"ab-conversion", true}, {"canary-good", true}, {"performance-pass", true}} {
		s := load(t, c.scenario)
		if c.scenario == "performance-pass" {
			// A window of 50 requests: it would decide by the second.
			s.Traffic.RequestsPerInterval = 50
		}
		third := stateAt(t, s, 4, 2)
		drawn, err := Estimate(s.Experiment, third, ETAOptions{Runs: 60, Horizon: 100})
		if err != nil {
			t.Fatal(err)
		}
		point, err := Estimate(s.Experiment, third, ETAOptions{Runs: 60, Horizon: 100, Point: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := drawn.P90-drawn.P10 > point.P90-point.P10; got != c.wider {
			t.Errorf("%s: spread %v–%v drawn, %v–%v at the point estimates: wider %v, want %v", c.scenario, drawn.P10, drawn.P90, point.P10, point.P90, got, c.wider)
		}
	}
}

// stateAt is the engine's state after window iteration of one run of s.
func stateAt(t *testing.T, s simulate.Scenario, seed uint64, iteration int) experiment.State {
	t.Helper()
	var at *experiment.State
	_, err := simulate.RunAll(s, simulate.Options{Runs: 1, Seed: seed, Workers: 1, OnState: func(_ int, st experiment.State) {
		if st.Iteration == iteration {
			at = &st
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if at == nil {
		t.Fatalf("%s seed %d decided before window %d", s.Name, seed, iteration)
	}
	return *at
}
