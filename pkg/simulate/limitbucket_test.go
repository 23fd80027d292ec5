package simulate

import "testing"

// TestCanaryLimitInBucketEnds: the review's hidden canary, whose p95 limit
// sits inside a bucket that also holds the candidate's true, failing p95,
// ran to the horizon in every run while keeping traffic on the failing
// version. It must now be rolled back, before the horizon, in every run.
func TestCanaryLimitInBucketEnds(t *testing.T) {
	s, err := LoadScenario("testdata/canary-limit-in-bucket.yaml")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := RunAll(s, Options{Runs: 20, Seed: 3, Policy: PolicyIter8})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		if r.Outcome != OutcomeRollback || r.Intervals >= s.Traffic.MaxIntervals {
			t.Errorf("run %d: %s after %d of %d intervals, want a rollback before the horizon", i, r.Outcome, r.Intervals, s.Traffic.MaxIntervals)
		}
	}
}

// TestCanaryMeanLimitPaysForItsRange: a mean limit is decided exactly under
// the metric's range, and the range sets the cost. canary-good declares
// max 1000 ms; the same canary without it takes the default 300 s (the
// request timeout) and must still promote, only after many more requests
// (docs/statistics.md: about (max - L) ln(1/α)/Δ).
func TestCanaryMeanLimitPaysForItsRange(t *testing.T) {
	intervals := func(file string) float64 {
		s, err := LoadScenario(file)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := RunAll(s, Options{Runs: 6, Seed: 4, Policy: PolicyIter8})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for i, r := range runs {
			if r.Outcome != "v2" {
				t.Errorf("%s run %d: %s after %d intervals, want v2 promoted", s.Name, i, r.Outcome, r.Intervals)
			}
			total += r.Intervals
		}
		return float64(total) / float64(len(runs))
	}
	capped, open := intervals("../../test/scenarios/canary-good.yaml"), intervals("testdata/canary-good-default-max.yaml")
	t.Logf("intervals to promote: %.1f with max 1000 ms, %.1f with the default max", capped, open)
	if open < 5*capped {
		t.Errorf("the default range decided in %.1f intervals against %.1f with max 1000 ms: want many more", open, capped)
	}
}
