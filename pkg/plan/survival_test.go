package plan

import (
	"math"
	"sync"
	"testing"

	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// The magnitude likelihood's maximum is the folded normal's MLE of |μ|:
// 0 when z² ≤ 1, else the root of μ = z·tanh(z·μ).
func TestFoldedLogLikMaximum(t *testing.T) {
	for _, z := range []float64{0.5, 0.9, 1.2, 2, 4, -2} {
		want := 0.0
		if z*z > 1 {
			want = math.Abs(z)
			for range 200 {
				want = math.Abs(z) * math.Tanh(math.Abs(z)*want)
			}
		}
		best, at := math.Inf(-1), 0.0
		for l := 0.0; l <= 3; l += 0.0005 {
			if v := foldedLogLik([]float64{z}, l); v > best {
				best, at = v, l
			}
		}
		if got := at * math.Abs(z); math.Abs(got-want) > 0.01 {
			t.Errorf("z=%v: maximum at |μ|=%.4f, want %.4f", z, got, want)
		}
	}
}

// Late in a run the survivors' differences look too small: λ exceeds, on
// average, what the differences' magnitudes alone give (the posterior mean
// with P_λ flat, survivalMean of flatProfile), and by more than after two
// windows, when hardly any run has decided yet at any λ.
func TestSurvivalScaleSpeedsUpSurvivors(t *testing.T) {
	s := load(t, "ab-conversion")
	spec := s.Experiment.Defaulted()
	const runs = 24
	var mu sync.Mutex
	states := make([][]experiment.State, runs)
	results, err := simulate.RunAll(s, simulate.Options{Runs: runs, Seed: 5, OnState: func(i int, st experiment.State) {
		mu.Lock()
		defer mu.Unlock()
		states[i] = append(states[i], st)
	}})
	if err != nil {
		t.Fatal(err)
	}
	// excess is the mean of λ minus λ without the survival term, over up
	// to 8 runs still running after window at.
	excess := func(at int) (float64, int) {
		sum, n := 0.0, 0
		for i, r := range results {
			if r.Intervals <= at || n == 8 {
				continue
			}
			st := states[i][at-1]
			_, l, err := survivalScale(spec, st, fitted(spec, st, prior{}, nil), simulate.Interval, s.Traffic.RequestsPerInterval, uint64(i+1), 0)
			if err != nil {
				t.Fatal(err)
			}
			b, bse, _ := estimate(spec.Metrics[0], st.Data[0][0])
			c, cse, _ := estimate(spec.Metrics[0], st.Data[1][0])
			sum += l - survivalMean(flatProfile(survivalRuns), []float64{(c - b) / math.Hypot(bse, cse)})
			n++
		}
		return sum / float64(n), n
	}
	early, n := excess(2)
	t.Logf("early: λ above the magnitudes' by %.3f over %d", early, n)
	late, m := excess(20)
	t.Logf("late: λ above the magnitudes' by %.3f over %d", late, m)
	if !(late > 0.05) || m < 4 || !(late > early) {
		t.Errorf("λ above the magnitudes' own: %.3f after 20 windows over %d runs still running, %.3f after 2: want > 0.05 over at least 4, and more than after 2", late, m, early)
	}
}
