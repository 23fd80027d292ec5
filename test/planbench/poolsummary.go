package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iter8-knative/iter8/pkg/plan"
)

// poolSummary is the pooled dumps' verdict on issue #19's target for the
// ETA shown: how many scenarios it meets, every cell it misses (with its
// median ratio, 95% interval and runs), and how far one dump alone may
// stray, shown on the scenario whose dumps' medians at 25% differ the
// most (their largest over their smallest).
func poolSummary(files []string, by map[string]*pooled, order []string) string {
	met, scenarios := 0, 0
	var misses []string
	spread, spreadName := 0.0, ""
	var spreadEach []string
	for _, name := range order {
		p := by[name]
		pts, ok := p.points[plan.Shown]
		if !ok || p.runs == 0 {
			continue
		}
		scenarios++
		var cells []string
		for _, pt := range pts {
			m, lo, hi := medianCI(pt.Ratios)
			if withinTarget(m) {
				continue
			}
			way := "long"
			if m < 0.7 {
				way = "short"
			}
			cells = append(cells, fmt.Sprintf("at %.0f%% of its run, where it is %s (%.2f, 95%% interval %.2f–%.2f, over %d runs)", 100*pt.Fraction, way, m, lo, hi, len(pt.Ratios)))
		}
		if len(cells) == 0 {
			met++
		} else {
			misses = append(misses, name+" "+joinAnd(cells))
		}
		ms := p.dumpMedians(plan.Shown)
		if len(ms) > 1 && slices.Min(ms) > 0 {
			if r := slices.Max(ms) / slices.Min(ms); r > spread {
				spread, spreadName, spreadEach = r, name, twoPlaces(ms)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<a id=\"eta-pool\"></a>\n\n**The ETA's verdict is the pooled one** (`go run ./test/planbench -pool %s`; `make bench-eta-pool`, the last step of `make bench`, traces seeds 1 to 4 by default, three dumps a seed, kept in `%s/`).", dumpNames(files), PoolDir)
	if spreadName != "" {
		fmt.Fprintf(&b, " One seed's traced runs move a median ratio by more than the target's margin where the ratios are spread, and most on %s: the ETA shown has a median ratio at 25%% of its runs of %s over each of its %d dumps alone.", spreadName, joinAnd(spreadEach), len(spreadEach))
	}
	fmt.Fprintf(&b, " Pooled, in [docs/planning.md](planning.md#pooled-traced-runs), ")
	switch {
	case scenarios == 0:
		b.WriteString("the dumps hold no run of the ETA shown.\n")
		return b.String()
	case len(misses) == 0:
		fmt.Fprintf(&b, "the ETA shown meets issue #19's target on all %d scenarios pooled.\n", scenarios)
		return b.String()
	}
	fmt.Fprintf(&b, "the ETA shown meets issue #19's target on %d of the %d scenarios pooled, and misses %s; why, and what the ETA line shows instead, is in [docs/planning.md](planning.md#how-accurate-it-is).\n", met, scenarios, strings.Join(misses, "; "))
	return b.String()
}

// joinAnd lists xs in prose: "a", "a and b", "a, b and c".
func joinAnd(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
