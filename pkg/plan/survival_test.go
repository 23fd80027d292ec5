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

// Late in a run the survivors' differences look too small, so λ > 1 on
// average; in the first windows a noisy difference looks too large, so
// λ < 1 on average.
func TestSurvivalScaleCorrectsBothWays(t *testing.T) {
	s := load(t, "ab-conversion")
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
	mean := func(at int) (float64, int) {
		sum, n := 0.0, 0
		for i, r := range results {
			if r.Intervals <= at || n == 8 {
				continue
			}
			st := states[i][at-1]
			_, l, err := survivalScale(s.Experiment.Defaulted(), st, fitted(s.Experiment.Defaulted(), st, nil), simulate.Interval, s.Traffic.RequestsPerInterval, uint64(i+1), 0)
			if err != nil {
				t.Fatal(err)
			}
			sum += l
			n++
		}
		return sum / float64(n), n
	}
	early, n := mean(2)
	t.Logf("early λ %.2f over %d", early, n)
	if !(early < 1) {
		t.Errorf("λ after 2 windows: mean %.2f over %d runs, want < 1", early, n)
	}
	late, n := mean(20)
	t.Logf("late λ %.2f over %d", late, n)
	if !(late > 1) || n < 4 {
		t.Errorf("λ after 20 windows: mean %.2f over %d runs still running, want > 1 over at least 4", late, n)
	}
}
