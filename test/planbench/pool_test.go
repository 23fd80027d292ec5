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
		pt := func(rs []float64) plan.ETAPoint { return plan.ETAPoint{Ratios: rs, Served: served} }
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
	md, err := poolTable([]string{a, b})
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
