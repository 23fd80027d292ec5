package main

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

// PassageCVs are the coefficients of variation of the decision time the
// first-passage model is tabled at: around the A/B scenarios' (about 0.5).
var PassageCVs = []float64{0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 1}

// passage tables the first-passage model (plan.PassageAccuracy) at
// PassageCVs, paths paths each on a grid of steps steps per mean decision
// time, and writes the "passage" section of out (docs/planning.md).
func passage(out string, paths, steps int, seed uint64) error {
	res := make([]plan.PassageResult, len(PassageCVs))
	var wg sync.WaitGroup
	for i, cv := range PassageCVs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = plan.PassageAccuracy(cv, paths, steps, seed)
		}()
	}
	wg.Wait()
	var b strings.Builder
	fmt.Fprintf(&b, "#### The first-passage model (`go run ./test/planbench -passage`, %d paths a row, %d grid steps per mean decision time, seed %d)\n\n", paths, steps, seed)
	fmt.Fprintf(&b, "Ratio: an ETA from the state, in closed form, / the time that actually remained, median over paths (95%% interval, order statistics), at 25%%, 50%% and 75%% of each path's own decision time: for the ideal ETA (the median remaining time) and for the ETA iter8 shows (its lower %.0f%%, `plan.ETALevel`). \"Below\": the share of paths that decided before the ETA, at 75%% of their own time and, over the paths still running, at 25%%, 50%% and 75%% of the median decision time (fixed in advance): 50%% for the median and 40%% for the lower 40%% if calibrated. p90/median is the decision time's, in closed form, to compare with a plan's.\n\n", 100*plan.ETALevel)
	b.WriteString("| CV of decision time | p90/median | median: ratio at 25% own | at 50% | at 75% | within ±30% | lower 40%: ratio at 25% own | at 50% | at 75% | within ±30% | below median at 75% own | below median at 25/50/75% of median | below lower 40% |\n|---:|---:|---|---|---|---|---|---|---|---|---:|---|---|\n")
	for _, r := range res {
		lambda := 1 / (r.CV * r.CV)
		p90 := plan.InverseGaussianQuantile(0.9, 1, lambda) / r.Median
		ok, okShown := true, true
		var cells, shown, fixed, under []string
		for _, p := range r.Own {
			ok = ok && withinTarget(p.MedianRatio)
			okShown = okShown && withinTarget(p.PointRatio)
			cells = append(cells, fmt.Sprintf("%.2f (%.2f–%.2f)", p.MedianRatio, p.RatioCI[0], p.RatioCI[1]))
			shown = append(shown, fmt.Sprintf("%.2f (%.2f–%.2f)", p.PointRatio, p.PointCI[0], p.PointCI[1]))
		}
		for _, p := range r.Fixed {
			fixed = append(fixed, fmt.Sprintf("%.0f%%", 100*p.Below))
			under = append(under, fmt.Sprintf("%.0f%%", 100*p.PointBelow))
		}
		fmt.Fprintf(&b, "| %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %.0f%% | %s | %s |\n", r.CV, p90, cells[0], cells[1], cells[2], yes(ok),
			shown[0], shown[1], shown[2], yes(okShown), 100*r.Own[2].Below, strings.Join(fixed, " / "), strings.Join(under, " / "))
	}
	fmt.Fprintf(&b, "\nMonte Carlo error: a share's standard error is at most %.1f points (at least half the paths are still running at 75%% of the median).\n", 100*0.5/math.Sqrt(float64(paths)/2))
	md := b.String()
	fmt.Print(md)
	if out == "" {
		return nil
	}
	return gendoc.ReplaceFile(out, "passage", md)
}
