package plan

import (
	"maps"
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

// Each outcome's median is over the runs that reached it: where every run
// reaches one outcome it is the ETA's median, and where a bad canary's
// runs split between a rollback and the candidate's promotion, the
// rollback comes sooner.
func TestETAOutcomeMedians(t *testing.T) {
	good, bad := load(t, "canary-good"), load(t, "canary-bad-errors")
	bad.Traffic.RequestsPerInterval = 50
	st := stateAt(t, bad, 3, 2)
	eta := func(o ETAOptions) ETA {
		t.Helper()
		o.Runs, o.Horizon, o.Seed = 60, 400, 5
		e, err := Estimate(bad.Experiment, st, o)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.EqualFunc(e.Outcomes, e.OutcomeMedians, func(float64, float64) bool { return true }) {
			t.Errorf("outcomes %v, medians %v: want one median for each outcome", e.Outcomes, e.OutcomeMedians)
		}
		return e
	}
	for name, truth := range map[string]map[string]map[string]simulate.Dist{"bad": bad.Truth, "good": good.Truth} {
		e := eta(ETAOptions{Truth: truth, Point: true})
		if len(e.Outcomes) != 1 {
			t.Fatalf("the %s truth: outcomes %v, the check needs one", name, e.Outcomes)
		}
		for o, m := range e.OutcomeMedians {
			if m != e.Median {
				t.Errorf("the %s truth: every run %s, in a median %v, but the ETA's median is %v", name, o, m, e.Median)
			}
		}
	}
	both := eta(ETAOptions{Truths: []map[string]map[string]simulate.Dist{good.Truth, bad.Truth}})
	promote := bad.Experiment.Candidates[0]
	if _, ok := both.Outcomes[promote]; !ok || both.Outcomes["rollback"] == 0 {
		t.Fatalf("outcomes %v: the check needs both a rollback and %s", both.Outcomes, promote)
	}
	if r, p := both.OutcomeMedians["rollback"], both.OutcomeMedians[promote]; !(r < p) {
		t.Errorf("median %vs to a rollback, %vs to promoting %s: a bad canary's rollback should come sooner", r, p, promote)
	}
}
