package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iter8-knative/iter8/pkg/plan"
)

// Two dumps pool into one row an estimator: the runs, the states with few
// requests and every ratio of both, whose median neither dump has alone.
func TestPoolTablesTheDumpsTogether(t *testing.T) {
	dir := t.TempDir()
	dump := func(name string, ratios []float64, served []float64) string {
		t.Helper()
		// Each run's one forward run is its ratio of 10 windows, so that
		// the ETA shown is that ratio.
		var fw [][]float64
		var actual []float64
		for _, r := range ratios {
			fw, actual = append(fw, []float64{10 * r}), append(actual, 10)
		}
		pt := func(rs []float64) plan.ETAPoint {
			return plan.ETAPoint{Ratios: rs, Served: served, Forwards: fw, Actuals: actual}
		}
		res := map[string]plan.ETAResult{"canary-bad-errors": {Used: len(ratios), Durations: []float64{10, 30},
			Estimators: []plan.ETAEstimates{{Name: "iter8", Own: []plan.ETAPoint{pt(ratios), pt(ratios), pt(ratios)}}}}}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Alone, the first is short (0.6) and the second long (3), as the
	// last column says; together the lower median of 0.5, 0.6, 1, 3, 3, 3
	// is 1. The durations 10, 30,
	// 10, 30 have a CV of 11.5/20 (the sample standard deviation).
	a := dump("a.json", []float64{0.5, 0.6, 1}, []float64{2, 40, 50})
	b := dump("b.json", []float64{3, 3, 3}, []float64{1, 3, 60})
	by, order, err := loadPool([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	md, err := poolTable([]string{a, b}, by, order)
	if err != nil {
		t.Fatal(err)
	}
	want := "| canary-bad-errors | 6 | 0.58 | 3 | iter8 | 1.00 (0.50–3.00) · 33% / 50% | 1.00 (0.50–3.00) · 33% / 50% | 1.00 (0.50–3.00) · 33% / 50% | yes | 0.60 · 3.00 |"
	if head := "-pool a.json,b.json`"; !strings.Contains(md, head) {
		t.Errorf("pooled table:\n%s\nwant its heading to name the dumps without their directory: %s", md, head)
	}
	if !strings.Contains(md, want) {
		t.Errorf("pooled table:\n%s\nwant the row\n%s", md, want)
	}
}

// The target's ends are inside it, as ratios of whole windows reach them.
func TestWithinTargetIncludesItsEnds(t *testing.T) {
	for _, tc := range []struct {
		m    float64
		want bool
	}{
		{7.0 / 10, true}, {14.0 / 20, true}, {13.0 / 10, true}, {1, true},
		{0.69, false}, {1.31, false}, {69.0 / 100, false}, {131.0 / 100, false},
	} {
		if got := withinTarget(tc.m); got != tc.want {
			t.Errorf("withinTarget(%v) = %v, want %v", tc.m, got, tc.want)
		}
	}
}

// Other points of the forward runs are scored against the same actual
// times. Runs 1 to 10 with 5 remaining: the lower 30% is 3 (0.6), the
// lower 40% 4 (0.8), the median 5 (1.0), and the densest window
// [t/1.3, t/0.7] holds 5 to 9 (t = 6.5, 1.3). Ten runs of 20 with 5
// remaining: 4 at any level, 5.2 densest, and none within ±30% of 5.
// Runs 1 to 10 with 10 remaining: 0.3, 0.4, 0.5 and 0.65.
func TestOtherPointsOfTheForwardRuns(t *testing.T) {
	one := make([]float64, 10)
	twenty := make([]float64, 10)
	for i := range one {
		one[i], twenty[i] = float64(i+1), 20
	}
	at := plan.ETAPoint{Ratios: []float64{0.8, 4, 0.4}, Forwards: [][]float64{one, twenty, one}, Actuals: []float64{5, 5, 10}}
	by := map[string]*pooled{"canary-bad-errors": {names: []string{"iter8"}, points: map[string][]plan.ETAPoint{"iter8": {at, at, at}}}}
	var b strings.Builder
	if err := otherPoints(&b, []string{"canary-bad-errors"}, by); err != nil {
		t.Fatal(err)
	}
	want := "| canary-bad-errors | iter8 | 0.60 · 0.60 · 0.60 | 0.80 · 0.80 · 0.80 yes | 1.00 · 1.00 · 1.00 yes | 1.30 · 1.30 · 1.30 yes | 1 of 3 |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("other points:\n%s\nwant the row\n%s", b.String(), want)
	}
	// A dump whose ETAs are not its forward runs' lower 40% is refused.
	at.Ratios = []float64{1, 4, 0.4}
	by["canary-bad-errors"].points["iter8"] = []plan.ETAPoint{at}
	if err := otherPoints(&strings.Builder{}, []string{"canary-bad-errors"}, by); err == nil || !strings.Contains(err.Error(), "another ETALevel") {
		t.Errorf("a dump of another level: error %v", err)
	}
}

// The pooled verdict names every cell the ETA shown misses, with its
// figures, counts the scenarios it meets, and shows one dump's spread on
// the scenario whose dumps differ the most; the other estimators' rows do
// not count.
func TestPoolSummaryStatesTheVerdict(t *testing.T) {
	pts := func(rs ...[]float64) []plan.ETAPoint {
		var out []plan.ETAPoint
		for i, r := range rs {
			out = append(out, plan.ETAPoint{Fraction: []float64{0.25, 0.5, 0.75}[i], Ratios: r})
		}
		return out
	}
	one := []float64{1, 1, 1}
	by := map[string]*pooled{
		// Long at 25% (median 3 over 5 runs), within at 50% and 75%; its
		// two dumps' medians at 25% are 1 and 3.
		"canary-bad-errors": {runs: 5, points: map[string][]plan.ETAPoint{
			"iter8":  pts([]float64{1, 1, 3, 3, 3}, one, one),
			"oracle": pts(one, one, one),
		}, first: map[string][][]float64{"iter8": {{1, 1}, {3, 3, 3}}}},
		// Short at 75% only; its dumps agree.
		"ab-conversion": {runs: 3, points: map[string][]plan.ETAPoint{
			"iter8": pts(one, one, []float64{0.5, 0.6, 0.6}),
		}, first: map[string][][]float64{"iter8": {one, one}}},
		"canary-good": {runs: 3, points: map[string][]plan.ETAPoint{"iter8": pts(one, one, one)}, first: map[string][][]float64{"iter8": {one, one}}},
		// Only another estimator's runs: not a scenario of the ETA shown.
		"performance-pass": {runs: 3, points: map[string][]plan.ETAPoint{"oracle": pts(one, one, one)}},
	}
	order := []string{"canary-bad-errors", "ab-conversion", "canary-good", "performance-pass"}
	got := poolSummary([]string{"out/bad1.json", "out/bad2.json"}, by, order)
	for _, want := range []string{
		"-pool bad1.json,bad2.json`",
		"and most on canary-bad-errors: the ETA shown has a median ratio at 25% of its runs of 1.00 and 3.00 over each of its 2 dumps alone.",
		"meets issue #19's target on 1 of the 3 scenarios pooled, and misses canary-bad-errors at 25% of its run, where it is long (3.00, 95% interval ",
		"over 5 runs); ab-conversion at 75% of its run, where it is short (0.60, 95% interval ",
		"over 3 runs); why",
		`<a id="eta-pool"></a>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary:\n%s\nwant it to contain\n%s", got, want)
		}
	}
	// Met everywhere: no miss, no why.
	delete(by, "canary-bad-errors")
	by["ab-conversion"].points["iter8"] = pts(one, one, one)
	got = poolSummary([]string{"a.json"}, by, order[1:])
	if want := "meets issue #19's target on all 2 scenarios pooled."; !strings.Contains(got, want) || strings.Contains(got, "misses") {
		t.Errorf("summary:\n%s\nwant %q and no miss", got, want)
	}
}
