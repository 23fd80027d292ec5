package plan

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/iter8-knative/iter8/pkg/simulate"
)

// refined is s with each window cut into refine windows at the same
// request rate, and as many more windows to its horizon, up to
// ETAMaxWindows (or s's own horizon, if longer). Beyond ETAMaxWindows an
// ETA folds windows (eta.go), and a run of 20 windows whose ETA counts in
// sixes would measure the fold, not the estimate: a canary's bad
// candidate, rolled back within a few of its 200 windows, cut into 40
// gave a horizon of 8,000 windows, folded by 6, and even the oracle's ETA
// was too long at 75% of the median duration in 76% of runs. The shorter
// horizon cuts off only runs that would last ETAMaxWindows short windows.
func refined(s simulate.Scenario, refine int) simulate.Scenario {
	s.Traffic.RequestsPerInterval = max(1, s.Traffic.RequestsPerInterval/int64(refine))
	s.Traffic.MaxIntervals = min(s.Traffic.MaxIntervals*refine, max(s.Traffic.MaxIntervals, ETAMaxWindows))
	return s
}

// RefinePilotRuns is how many runs Refine simulates at each refine it
// tries: enough that their median windows is within a window or two.
const RefinePilotRuns = 100

// RefineTries is how many refines Refine simulates at most.
const RefineTries = 6

// Refine is how many windows to cut each of s's into (at most maxRefine)
// so that the median run of ETAAccuracy lasts at least minWindows, checked
// by simulating, starting from a guess. The guess alone, the median
// samples of whole windows over the requests of one, falls short where
// the rule decides within a window: a canary that rolls back a bad
// candidate after a few hundred requests decides at the end of its second
// window of 500, and in shorter windows as soon as it has seen enough, so
// that cutting each window into 7 gives 9 windows, not 20. Each try scales
// refine by how far its median fell short; the answer is the first refine
// whose median run is long enough, or maxRefine (also when RefineTries
// were not enough). A run that never decides lasts to the horizon: an A/A
// test's runs rarely decide, and the few false winners among them would
// otherwise set the refine (ETAAccuracy times only the runs that decide).
func Refine(s simulate.Scenario, guess, minWindows, maxRefine int, seed uint64) (int, error) {
	r := min(maxRefine, max(1, guess))
	for try := 0; try < RefineTries; try++ {
		med, err := pilotWindows(s, r, seed)
		if err != nil {
			return 0, err
		}
		if med >= float64(minWindows) || r == maxRefine {
			return r, nil
		}
		r = min(maxRefine, max(r+1, int(math.Ceil(float64(r)*float64(minWindows)/med))))
	}
	return maxRefine, nil
}

// pilotWindows is the median windows of RefinePilotRuns runs of s cut
// into refine windows, a run that does not decide counting its horizon.
func pilotWindows(s simulate.Scenario, refine int, seed uint64) (float64, error) {
	results, err := simulate.RunAll(refined(s, refine), simulate.Options{Runs: RefinePilotRuns, Seed: seed, Interval: simulate.Interval / time.Duration(refine)})
	if err != nil {
		return 0, fmt.Errorf("refine %s at %d: %w", s.Name, refine, err)
	}
	windows := make([]float64, len(results))
	for i, x := range results {
		windows[i] = float64(x.Intervals)
	}
	slices.Sort(windows)
	return quantile(windows, 0.5), nil
}
