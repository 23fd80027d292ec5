package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/iter8-knative/iter8/pkg/plan"
)

// fewServed is the candidate's requests at or below which a state says
// almost nothing of it: no error in 5 requests is 0.78 as likely at a 5%
// error rate as at 0.2% (0.95⁵ / 0.998⁵), so a bad candidate and a good
// one leave the same states.
const fewServed = 5

// isFew reports whether a candidate that had served n requests is in a
// state that says almost nothing of it (fewServed).
func isFew(n float64) bool { return n <= fewServed }

// quarterEstimators are the estimators the quarter table splits.
var quarterEstimators = []string{plan.Shown, plan.WithPast, plan.KnownTruths, plan.Oracle}

// quarter tables, for each canary scenario, what the state knows of the
// candidate at 25% of each run's own duration (the requests it had
// served) and the median ratio of the ETA to the windows that remained,
// over the runs whose candidate had served at most fewServed requests and
// over the rest (and how many of the rest are above 1.3), for iter8,
// iter8 with past canaries, known truths and the oracle: where a state
// cannot tell a bad candidate from a good one, any ETA from it is the
// same for both; elsewhere a prior that knows what bad looks like does
// better than iter8's default.
func quarter(b *strings.Builder, rows []etaRow) {
	var lines []string
	for _, r := range rows {
		if !r.canary || r.res.Used == 0 {
			continue
		}
		served := r.res.Estimators[0].Own[0].Served
		few := countOf(served, isFew)
		for _, name := range quarterEstimators {
			i := slices.IndexFunc(r.res.Estimators, func(e plan.ETAEstimates) bool { return e.Name == name })
			if i < 0 {
				continue
			}
			there, rest, above := split(r.res.Estimators[i].Own[0])
			lines = append(lines, fmt.Sprintf("| %s | %.0f (%.0f–%.0f) | %d of %d | %s | %s | %s | %s |\n",
				r.name, median(served), slices.Min(served), slices.Max(served), few, len(served), name, there, rest, above))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "**What a quarter of a canary knows**: at 25%% of each run's own duration, the requests the candidate had served (median, range), the runs in which it had served at most %d (no error in %d requests is %.2f as likely at a 5%% error rate as at 0.2%%: such a state cannot tell a bad candidate from a good one), the median ratio of the ETA to the windows that remained over those runs and over the rest, and how many of the rest are above 1.3.\n\n", fewServed, fewServed, math.Pow(0.95/0.998, fewServed))
	fmt.Fprintf(b, "| scenario | candidate's requests at 25%% | runs with at most %d | estimator | ratio there | elsewhere | elsewhere above 1.3 |\n|---|---|---:|---|---:|---:|---:|\n", fewServed)
	for _, l := range lines {
		b.WriteString(l)
	}
	b.WriteString("\n")
}

// split is the median ratio of p over the runs whose candidate had served
// at most fewServed requests, over the rest, and how many of the rest are
// above 1.3.
func split(p plan.ETAPoint) (few, rest, above string) {
	var a, b []float64
	for i, x := range p.Ratios {
		if isFew(p.Served[i]) {
			a = append(a, x)
		} else {
			b = append(b, x)
		}
	}
	n := countOf(b, func(x float64) bool { return x > 1.3 })
	return ratioOf(a), ratioOf(b), fmt.Sprintf("%d of %d", n, len(b))
}

func ratioOf(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", median(xs))
}
