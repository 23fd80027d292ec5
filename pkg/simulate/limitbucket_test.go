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
