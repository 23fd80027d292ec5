package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/iter8-knative/iter8/pkg/plan"
)

// pointEstimates is the estimator the corrections are measured against:
// forward runs at the estimates the data give, no correction.
const pointEstimates = "point estimates"

// The "What the corrections did" paragraph of docs/planning.md compares
// iter8 with the point estimates on every scenario: pooled median ratios
// from the committed dumps, with which scenarios each meets, and their
// calibration without looking ahead over the same runs; the paragraph
// before it gives the canaries' pooled calibration beside seed 1's. Both
// are rendered here from the dumps, losses and all.
func TestProseQuotesTheCorrections(t *testing.T) {
	dumps, err := readDumps(committedDumps(t))
	if err != nil {
		t.Fatal(err)
	}
	by, order := poolDumps(dumps)
	q := quoter{t, by}
	// calibrated is est's calibration without looking ahead on scenario,
	// over every dump's runs.
	calibrated := func(scenario, est string) calibration {
		var all []plan.ETAEstimates
		for _, d := range dumps {
			if res, ok := d[scenario]; ok {
				all = append(all, estimatesIn(t, res, est))
			}
		}
		return calibrationOf(mergeFixed(all))
	}
	var moved []string
	groups := map[[2]bool][]string{}
	var rose, fell, held []string
	// nearer are, at each point, the scenarios on which the point
	// estimates' median ratio is nearer 1 ([0]) and iter8's ([1]).
	var nearer [2][3][]string
	for _, s := range order {
		moved = append(moved, fmt.Sprintf("from %s to %s on %s", q.three(s, pointEstimates, q.f), q.three(s, plan.Shown, q.f), s))
		v := [2]bool{meetsIn(q, s, pointEstimates), meetsIn(q, s, plan.Shown)}
		groups[v] = append(groups[v], s)
		for k := range 3 {
			switch d := math.Abs(q.median(s, pointEstimates, k)-1) - math.Abs(q.median(s, plan.Shown, k)-1); {
			case d < 0:
				nearer[0][k] = append(nearer[0][k], s)
			case d > 0:
				nearer[1][k] = append(nearer[1][k], s)
			}
		}
		before, after := calibrated(s, pointEstimates).pitInside, calibrated(s, plan.Shown).pitInside
		change := fmt.Sprintf("%s to %s on %s", before, after, s)
		switch a, b := percent(t, after), percent(t, before); {
		case a > b:
			rose = append(rose, change)
		case a < b:
			fell = append(fell, change)
		default:
			held = append(held, fmt.Sprintf("%s on %s", after, s))
		}
	}
	if len(nearer[0][1])+len(nearer[0][2]) > 0 {
		t.Errorf("docs/planning.md says iter8 is nearer 1 at 50%% and 75%% wherever the two differ; the point estimates are on %v", nearer[0])
	}
	var verdict []string
	for _, g := range []struct {
		v    [2]bool
		what string
	}{
		{[2]bool{false, true}, "bring %s into the target"},
		{[2]bool{true, true}, "keep %s within the target"},
		{[2]bool{true, false}, "take %s out of the target"},
		{[2]bool{false, false}, "leave %s outside the target"},
	} {
		if ss := groups[g.v]; len(ss) > 0 {
			verdict = append(verdict, fmt.Sprintf(g.what, joinAnd(ss)))
		}
	}
	// The one scenario iter8 misses: what the corrections did there.
	const bad = "canary-bad-errors"
	pe, shown := func(k int) float64 { return q.median(bad, pointEstimates, k) }, func(k int) float64 { return q.median(bad, plan.Shown, k) }
	if withinTarget(pe(0)) || shown(0) <= pe(0) || !withinTarget(shown(1)) || !withinTarget(shown(2)) || withinTarget(pe(1)) || withinTarget(pe(2)) {
		t.Errorf("docs/planning.md says the corrections bring %s within the target at 50%% and 75%% and lengthen its ETA at 25%%, which the point estimates miss too: %s to %s",
			bad, q.three(bad, pointEstimates, q.f), q.three(bad, plan.Shown, q.f))
	}
	// The canaries' calibration without looking ahead, pooled: the
	// seed-1 figures above it, over four times the runs.
	pooledCanary := func(scenario string) string {
		c := calibrated(scenario, plan.Shown)
		b := c.pitBelow
		return fmt.Sprintf("%s u < ½ in %s, %s, %s and u in 10–90%% in %s on %s, %s and %s runs %s", scenario, b[0], b[1], b[2], c.pitInside,
			c.runs[0], c.runs[1], c.runs[2], pastAndOracle(calibrated(scenario, plan.WithPast), calibrated(scenario, plan.Oracle)))
	}
	// The Monte Carlo error of a share near ½ over the runs at 25%, and
	// whether a bad canary's is beyond it there.
	bc, bo := calibrated(bad, plan.Shown), calibrated(bad, plan.Oracle)
	runs25, _ := strconv.Atoi(bc.runs[0])
	mc := mcPoints(runs25)
	if float64(percent(t, bc.pitBelow[0]))-50 <= mc {
		t.Errorf("docs/planning.md calls a bad canary's u < ½ at 25%% (%s) a miss beyond ±%.0f points", bc.pitBelow[0], mc)
	}
	// Seed 1 alone, the benchmark table's runs, had the point estimates
	// miss every A/B test.
	seed1, _ := poolDumps([]map[string]plan.ETAResult{dumps[0], dumps[4], dumps[8]})
	q1 := quoter{t, seed1}
	ab := []string{"ab-conversion", "ab-latency-seconds", "abn-three"}
	for _, s := range ab {
		if meetsIn(q1, s, pointEstimates) {
			t.Errorf("docs/planning.md says seed 1 had the point estimates miss %s", s)
		}
	}
	claims := []string{
		fmt.Sprintf("Seed 1 alone had shown the point estimates missing %d A/B tests (%s at 25%%, %s, %s on ab-conversion)",
			len(ab), q1.f(ab[0], pointEstimates, 0), q1.f(ab[0], pointEstimates, 1), q1.f(ab[0], pointEstimates, 2)),
		fmt.Sprintf("carries about ±%.0f points of Monte Carlo error, so a bad canary's %s at 25%% is a miss", mc, bc.pitBelow[0]),
		fmt.Sprintf("its 10–90%% spread holds %s where the oracle's holds %s", bc.pitInside, bo.pitInside),
		"Pooled over the four seeds: " + pooledCanary(bad) + "; " + pooledCanary("canary-good") + ".",
		fmt.Sprintf("on %s they bring 50%% and 75%% within it (%s to %s, %s to %s) and lengthen 25%% (%s to %s)",
			bad, q.f(bad, pointEstimates, 1), q.f(bad, plan.Shown, 1), q.f(bad, pointEstimates, 2), q.f(bad, plan.Shown, 2), q.f(bad, pointEstimates, 0), q.f(bad, plan.Shown, 0)),
		"pooled over the same runs as the table: the median ratio at 25%, 50%, 75% went " + joinAnd(moved) + ".",
		"The corrections " + joinAnd(verdict),
		fmt.Sprintf("the point estimates are nearer 1 at 25%% on %s, iter8 on %s; at 50%% and 75%% iter8 is nearer wherever the two differ",
			joinAnd(nearer[0][0]), joinAnd(nearer[1][0])),
		changes("Without looking ahead, over the same runs, u in 10–90% rose from ", rose, "fell from ", fell, "stayed at ", held),
	}
	requireQuotes(t, "../../docs/planning.md", "the committed dumps", claims)
}

// meetsIn reports whether est's median ratios in q are within the target
// at 25%, 50% and 75% on scenario s.
func meetsIn(q quoter, s, est string) bool {
	for k := range 3 {
		if !withinTarget(q.median(s, est, k)) {
			return false
		}
	}
	return true
}

// mergeFixed pools the calibration counts of several dumps' estimates,
// moment by moment: the runs' ratios together and their counts summed.
func mergeFixed(es []plan.ETAEstimates) plan.ETAEstimates {
	var out plan.ETAEstimates
	for _, e := range es {
		out.Name = e.Name
		for k, p := range e.Fixed {
			if k == len(out.Fixed) {
				out.Fixed = append(out.Fixed, plan.ETAPoint{Fraction: p.Fraction})
			}
			m := &out.Fixed[k]
			m.Ratios = append(m.Ratios, p.Ratios...)
			m.Below += p.Below
			m.Inside += p.Inside
			m.PITBelow += p.PITBelow
			m.PITInside += p.PITInside
		}
	}
	return out
}

// changes joins the scenarios whose share rose, those whose share fell and
// those where it held into one sentence.
func changes(head string, rose []string, fellHead string, fell []string, heldHead string, held []string) string {
	s := head + joinAnd(rose)
	if len(fell) > 0 {
		s += ", and " + fellHead + joinAnd(fell)
	}
	if len(held) > 0 {
		s += ", and " + heldHead + joinAnd(held)
	}
	return s
}

// percent parses a share as the tables print it ("64%").
func percent(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil {
		t.Fatalf("share %q: %v", s, err)
	}
	return n
}
