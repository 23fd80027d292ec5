package main

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// stabilityScenarios are the scenarios -stability reads by default: the
// A/B and A/B/n ones, where the survival correction applies.
const stabilityScenarios = "ab-conversion,ab-latency-seconds,abn-three"

// stability measures how much the live ETA moves from one window to the
// next beyond what the window itself explains: for every traced run and
// every window t up to maxWindows while it still runs, the ETA (the
// remaining windows shown, ETA.Windows: the plan.ETALevel quantile of
// plan.Estimate's forward runs with its defaults, horizon the
// scenario's) and the jump |ln((ETA_{t+1}+1)/ETA_t)|, which is 0 when
// the ETA only counts down the window that passed. It prints the median
// and p90 of the jumps over runs and windows, and the share of jumps by
// more than a factor of 2. Cheap on purpose: a few runs of 20 windows.
func stability(dir, only string, runs, maxWindows int, seed uint64) error {
	scenarios, err := loadScenarios(dir, only)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### ETA stability (`go run ./test/planbench -stability`, %d runs a scenario, first %d windows, seed %d)\n\n", runs, maxWindows, seed)
	b.WriteString("| scenario | jumps | median jump | p90 jump | share > ×2 | ETAs of run 1 | time |\n|---|---:|---:|---:|---:|---|---:|\n")
	for _, s := range scenarios {
		t0 := time.Now()
		var mu sync.Mutex
		states := make([][]experiment.State, runs)
		if _, err := simulate.RunAll(s, simulate.Options{Runs: runs, Seed: seed, OnState: func(i int, st experiment.State) {
			mu.Lock()
			defer mu.Unlock()
			if st.Phase == experiment.PhaseRunning && st.Iteration <= maxWindows {
				states[i] = append(states[i], st)
			}
		}}); err != nil {
			return err
		}
		var jumps []float64
		var first []string
		for i, trace := range states {
			prev := math.NaN()
			for _, st := range trace {
				e, err := plan.Estimate(s.Experiment, st, plan.ETAOptions{Horizon: s.Traffic.MaxIntervals - st.Iteration})
				if err != nil {
					return fmt.Errorf("scenario %s run %d window %d: %w", s.Name, i, st.Iteration, err)
				}
				if !math.IsNaN(prev) {
					jumps = append(jumps, math.Abs(math.Log((e.Windows+1)/math.Max(prev, 1))))
				}
				prev = e.Windows
				if i == 0 {
					first = append(first, fmt.Sprint(e.Windows))
				}
			}
		}
		slices.Sort(jumps)
		big := 0
		for _, j := range jumps {
			if j > math.Ln2 {
				big++
			}
		}
		q := func(p float64) float64 {
			if len(jumps) == 0 {
				return math.NaN()
			}
			return jumps[min(len(jumps)-1, int(p*float64(len(jumps))))]
		}
		row := fmt.Sprintf("| %s | %d | %.2f | %.2f | %.0f%% | %s | %s |\n", s.Name, len(jumps), q(0.5), q(0.9),
			100*float64(big)/math.Max(1, float64(len(jumps))), strings.Join(first, " "), time.Since(t0).Round(time.Second))
		b.WriteString(row)
		slog.Info("stability", "row", row)
	}
	fmt.Print(b.String())
	return nil
}

// isSet reports whether the flag was given on the command line.
func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
