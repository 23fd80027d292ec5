package plan

import (
	"testing"

	"github.com/iter8-knative/iter8/pkg/simulate"
)

// pilotMedian is pilotWindows, failing the test on an error.
func pilotMedian(t *testing.T, s simulate.Scenario, r int, seed uint64) float64 {
	t.Helper()
	m, err := pilotWindows(s, r, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A canary that rolls back within a window decides sooner in shorter
// windows, so the guess from whole windows falls short of the windows
// wanted; Refine raises it until the pilot's median run is long enough,
// and never past the cap.
func TestRefineReachesTheWindowsWanted(t *testing.T) {
	s := load(t, "canary-bad-errors")
	const want, seed = 20, 11
	// The guess the benchmark made before Refine: 20 windows over the
	// measured median, 1,459 samples at 500 a window.
	if m := pilotMedian(t, s, 7, seed); m >= want {
		t.Fatalf("at refine 7 the median run lasts %.1f windows: the guess already suffices, and this test checks nothing", m)
	}
	r, err := Refine(s, 7, want, 40, seed)
	if err != nil {
		t.Fatal(err)
	}
	if m := pilotMedian(t, s, r, seed); m < want {
		t.Errorf("Refine chose %d: median run %.1f windows, want at least %d", r, m, want)
	}
	if r, err := Refine(s, 7, want, 9, seed); err != nil || r != 9 {
		t.Errorf("Refine capped at 9 = %d, %v; want 9", r, err)
	}
	// A guess that suffices is kept.
	if got, err := Refine(s, r, want, 40, seed); err != nil || got != r {
		t.Errorf("Refine from its own answer %d = %d, %v; want it kept", r, got, err)
	}
}

// An A/A test rarely decides: its median run lasts to the horizon, and
// the refine stays as guessed, whatever its few false winners took.
func TestRefineKeepsARunThatDoesNotDecide(t *testing.T) {
	s := load(t, "aa-conversion")
	const seed = 11
	res, err := simulate.RunAll(s, simulate.Options{Runs: RefinePilotRuns, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	decided := 0
	for _, x := range res {
		if x.Outcome != simulate.OutcomeInconclusive {
			decided++
		}
	}
	if decided == 0 {
		t.Fatal("no pilot run decided: the runs that do not decide are all there is, and this test checks nothing")
	}
	if r, err := Refine(s, 1, 20, 40, seed); err != nil || r != 1 {
		t.Errorf("Refine(aa-conversion) = %d, %v with %d of %d pilot runs deciding; want 1", r, err, decided, RefinePilotRuns)
	}
}
