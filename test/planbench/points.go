package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/iter8-knative/iter8/pkg/plan"
)

// An ETA is one point of its forward runs (plan.ETALevel: their lower
// 40%). Where it misses the target, is it the point or the runs? The
// dumps keep every ETA's forward runs, so any other point of them can be
// scored against the same actual remaining times: if some other point
// met the target where the lower 40% misses, without missing elsewhere,
// the point would be the fault; if none does, the runs are, that is the
// posterior they are drawn from.

// point is a rule that reads an ETA off sorted forward runs.
type point struct {
	name string
	at   func(sorted []float64) float64
	// shown is the point the ETA shows.
	shown bool
}

// level is the p-quantile as plan.Estimate reads it (gonum's empirical
// quantile: the least run at or above a share p).
func level(p float64) func([]float64) float64 {
	return func(xs []float64) float64 { return stat.Quantile(p, stat.Empirical, xs, nil) }
}

// densest is the point t that the most forward runs are within ±30% of,
// as the target judges an ETA (0.7 ≤ t/x ≤ 1.3): the densest window
// [t/1.3, t/0.7], the least such t on a tie. The best window starts at a
// run, so only t = 1.3·x is tried.
func densest(xs []float64) float64 {
	best, most := math.NaN(), -1
	for i, x := range xs {
		n := 0
		for _, y := range xs[i:] {
			if y*0.7 <= x*1.3 {
				n++
			}
		}
		if n > most {
			best, most = 1.3*x, n
		}
	}
	return best
}

var points = []point{
	{"lower 30%", level(0.3), false},
	{"lower 40% (shown)", level(plan.ETALevel), true},
	{"median", level(0.5), false},
	{"densest", densest, false},
}

// farFrom is the share of forward runs below which a state's runs are
// said to be far from what actually remained.
const farFrom = 0.05

// otherPoints tables, for every scenario and estimator, the median ratio
// at 25%, 50% and 75% of each run's duration had the ETA been each of
// points, and the states whose forward runs are far from the time that
// remained: fewer than farFrom of them within ±30% of it, so that no
// point of them can be near it but by chance. The lower 40% must give
// back the ratios shown, which checks that the dumps are of this
// ETALevel.
func otherPoints(b *strings.Builder, order []string, by map[string]*pooled) error {
	fmt.Fprintf(b, "\n**Other points of the same forward runs**: the median ratio at 25%% · 50%% · 75%% of each run's duration had the ETA been another point of the forward runs it was read from (the lower 40%% is the one shown; *densest*: the point that most of them are within ±30%% of), \"yes\" where all three are within ±30%%; and the states at 25%% in which fewer than %.0f%% of the forward runs ended within ±30%% of the time that actually remained.\n\n", 100*farFrom)
	b.WriteString("| scenario | estimator |")
	for _, p := range points {
		b.WriteString(" " + p.name + " |")
	}
	b.WriteString(" far from it at 25% |\n|---|---|" + strings.Repeat("---|", len(points)) + "---:|\n")
	for _, name := range order {
		p := by[name]
		for _, est := range p.names {
			fmt.Fprintf(b, "| %s | %s |", name, est)
			for _, pt := range points {
				var cells []string
				ok := true
				for _, at := range p.points[est] {
					rs, err := ratiosAt(at, pt)
					if err != nil {
						return fmt.Errorf("%s, %s, at %.0f%%: %w", name, est, 100*at.Fraction, err)
					}
					m, _, _ := medianCI(rs)
					ok = ok && withinTarget(m)
					cells = append(cells, fmt.Sprintf("%.2f", m))
				}
				fmt.Fprintf(b, " %s%s |", strings.Join(cells, " · "), map[bool]string{true: " yes"}[ok])
			}
			first := p.points[est][0]
			fmt.Fprintf(b, " %d of %d |\n", countFar(first), len(first.Actuals))
		}
	}
	return nil
}

// ratiosAt are the ratios of point pt of each run's forward runs to its
// actual remaining windows.
func ratiosAt(at plan.ETAPoint, pt point) ([]float64, error) {
	if len(at.Forwards) != len(at.Ratios) || len(at.Actuals) != len(at.Ratios) {
		return nil, fmt.Errorf("%d ratios, %d forward runs and %d actual times: a dump without its forward runs", len(at.Ratios), len(at.Forwards), len(at.Actuals))
	}
	rs := make([]float64, len(at.Ratios))
	for i, fw := range at.Forwards {
		r := pt.at(slices.Sorted(slices.Values(fw))) / at.Actuals[i]
		if pt.shown && math.Abs(r-at.Ratios[i]) > 1e-9*at.Ratios[i] {
			return nil, fmt.Errorf("run %d: the forward runs' lower %.0f%% gives %v, the ETA shown %v: a dump of another ETALevel", i, 100*plan.ETALevel, r, at.Ratios[i])
		}
		rs[i] = r
	}
	return rs, nil
}

// countFar is the states of at whose forward runs are far from the time
// that remained (farFrom).
func countFar(at plan.ETAPoint) int {
	n := 0
	for i, fw := range at.Forwards {
		a := at.Actuals[i]
		near := countOf(fw, func(x float64) bool { return withinTarget(x / a) })
		if float64(near) < farFrom*float64(len(fw)) {
			n++
		}
	}
	return n
}
