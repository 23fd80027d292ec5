package main

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

// etaBound measures the ideal ETA against issue #19's target
// (`-etabound`): the oracle's median remaining time alone (the scenario's
// true distributions, continuing the same state), with many traced runs on
// a few scenarios, so that the 95% interval of its median ratio at 75% of
// a run's own duration says whether the median of the remaining time can
// meet the target from the state. It
// writes the "etabound" section of out (docs/planning.md).
func etaBound(dir, out, only string, runs, measure, forward int, seed uint64) error {
	scenarios, err := loadScenarios(dir, only)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### The oracle on the real engine (`go run ./test/planbench -etabound -eta-runs %d -only %s`, seed %d)\n\n", runs, only, seed)
	fmt.Fprintf(&b, "The oracle ETA of the planning benchmark (true distributions, the same state continued by at most %d forward runs of the real engine) on %d traced runs a scenario, the same runs as the benchmark's first ones (same seed), cut into the same *refine* windows. Ratio: the oracle's median remaining time (the ideal ETA, not the lower 40%% iter8 shows) / windows that actually remained, median over runs (95%% interval, order statistics); \"below\": the share of runs that decided before the ETA (a tie counts one half; 50%% if calibrated) with ±1.96 standard errors.\n\n", forward, runs)
	b.WriteString("| scenario | refine | runs | CV of duration | ratio at 25% own | at 50% | at 75% | 75%: 1.3 | below ETA at 75% own | below ETA at 25/50/75% of median (runs) | time |\n|---|---:|---:|---:|---|---|---|---|---:|---|---:|\n")
	for _, s := range scenarios {
		t0 := time.Now()
		// The benchmark's refine, from the same measurement.
		acc, err := plan.PlanAccuracy(s, measure, seed, 0)
		if err != nil {
			return err
		}
		refine, err := refineFor(s, acc, seed)
		if err != nil {
			return err
		}
		ests, err := plan.ETAEstimators(s, nil, nil, seed)
		if err != nil {
			return err
		}
		est := ests[2]
		est.Options.Runs = forward
		res, err := plan.ETAAccuracy(s, refine, runs, seed+10, []plan.ETAEstimator{est})
		if err != nil {
			return err
		}
		took := time.Since(t0)
		if res.Used == 0 {
			fmt.Fprintf(&b, "| %s | %d | 0 | - | - | - | - | - | - | - | %s |\n", s.Name, refine, took.Round(time.Second))
			continue
		}
		e := res.Estimators[0]
		var cells []string
		verdict := ""
		for k, p := range e.Own {
			m, lo, hi := medianCI(p.MedianRatios)
			cells = append(cells, fmt.Sprintf("%.2f (%.2f–%.2f)", m, lo, hi))
			if k == 2 {
				switch {
				case lo > 1.3:
					verdict = "above: excluded"
				case hi < 1.3:
					verdict = "below: excluded"
				default:
					verdict = "inside: not excluded"
				}
			}
		}
		var fixed []string
		for _, p := range e.Fixed {
			fixed = append(fixed, share(p.Below, len(p.Ratios)))
		}
		own := e.Own[2]
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %s | %s | %s | %s | %s | %s | %s |\n", s.Name, refine, res.Used, cv(res.Durations),
			cells[0], cells[1], cells[2], verdict, share(own.Below, len(own.Ratios)), strings.Join(fixed, ", "), took.Round(time.Second))
		slog.Info("etabound", "scenario", s.Name, "runs", res.Used, "own", cells, "took", took)
	}
	md := b.String()
	fmt.Print(md)
	if out == "" {
		return nil
	}
	return gendoc.ReplaceFile(out, "etabound", md)
}

// share is k of n as a percentage with ±1.96 binomial standard errors.
func share(k float64, n int) string {
	if n == 0 {
		return "-"
	}
	p := k / float64(n)
	return fmt.Sprintf("%.0f%% ±%.0f (%d)", 100*p, 196*math.Sqrt(p*(1-p)/float64(n)), n)
}

// cv is the coefficient of variation of xs.
func cv(xs []float64) float64 {
	m, v := 0.0, 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v/float64(max(1, len(xs)-1))) / m
}

// boundScenarios are the A/B scenarios the oracle missed on at 75% of a
// run's own duration with 24 runs; their runs are the cheapest to trace.
const boundScenarios = "ab-conversion,ab-latency-seconds"
