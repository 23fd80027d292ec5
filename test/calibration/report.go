package main

import (
	"bytes"
	"fmt"
	"runtime"
	"time"

	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

// table is everything measured.
type table struct {
	ratio, mean, quantile []cell
	reliability           []reliabilityBin
	reliabilityRuns       int
	verdicts              []verdictCell
}

// Grids of the issue: ratios at p x n, means and quantiles at n.
var (
	ratioPs       = []float64{0.002, 0.01, 0.1, 0.5}
	sampleSizes   = []float64{300, 1000, 10000}
	quantileQs    = []float64{0.95, 0.99}
	meanSizes     = []float64{30, 300, 1000, 10000}
	reliabilityN  = 2000.0
	reliabilityBy = 20 // grid steps on each side of 0
)

// measure runs the grids; only, when not empty, names the one to run
// (ratio, mean, quantile, verdict or win).
func measure(runs int, seed uint64, only string) table {
	var t table
	want := func(g string) bool { return only == "" || only == g }
	for _, p := range ratioPs {
		if !want("ratio") {
			break
		}
		for _, n := range sampleSizes {
			t.ratio = append(t.ratio, ratioCell(p, n))
		}
	}
	for i, m := range meanTruths() {
		if !want("mean") {
			break
		}
		for _, n := range meanSizes {
			t.mean = append(t.mean, meanCell(m, n, runs, seed+uint64(i)))
		}
	}
	for _, q := range quantileQs {
		if !want("quantile") {
			break
		}
		for i, l := range latencies() {
			for _, n := range sampleSizes {
				t.quantile = append(t.quantile, quantileCell(l, q, n, runs, seed+uint64(100*i)))
			}
		}
	}
	for i, s := range meanStreams() {
		if !want("verdict") {
			break
		}
		t.verdicts = append(t.verdicts, meanVerdictCell(s, verdictStreams, verdictWindow, verdictHorizon, verdictAlpha, seed+uint64(300+i)))
	}
	if !want("win") {
		return t
	}
	per := max(1, runs/(2*reliabilityBy)*5)
	t.reliability = winReliability(0.1, 0.02, reliabilityN, reliabilityBy, per, seed)
	t.reliabilityRuns = per * 2 * reliabilityBy
	return t
}

// band is the acceptance band of a nominal 95% interval.
const bandLo, bandHi = 0.93, 0.97

func mark(c cell) string {
	if c.coverage < bandLo || c.coverage > bandHi {
		return " **(outside 93–97%)**"
	}
	return ""
}

func (t table) markdown(runs int, took time.Duration) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Measured by `go run ./test/calibration` (part of `make bench`) on %s, %d CPUs, %s; do not edit by hand.\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), took.Round(time.Second))
	fmt.Fprintf(&b, "Nominal level 95%%; %d runs per simulated cell (binomial standard error 0.49%%), ratios exactly.\n", runs)
	fmt.Fprintf(&b, "\"below\"/\"above\": share of runs whose truth lay below/above the interval.\n\n")
	section := func(title string, cells []cell) {
		fmt.Fprintf(&b, "**%s**\n\n| metric | truth | n | coverage | below | above |\n| --- | --- | ---: | ---: | ---: | ---: |\n", title)
		for _, c := range cells {
			how := fmt.Sprintf("%.1f%%", 100*c.coverage)
			if c.runs == 0 {
				how = fmt.Sprintf("%.2f%% (exact)", 100*c.coverage)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s%s | %.1f%% | %.1f%% |\n", c.metric, c.truth, fmtFloat(c.n), how, mark(c), 100*c.below, 100*c.above)
		}
		b.WriteString("\n")
	}
	section("Ratio (Beta posterior)", t.ratio)
	section("Mean (Student-t posterior, scale-free prior)", t.mean)
	section("Quantile (Dirichlet over Knative's queue-proxy buckets)", t.quantile)
	fmt.Fprintf(&b, "**P(win) reliability** (A/B on a ratio reward, baseline 0.10, the candidate at %d fixed rates evenly spaced in [0.08, 0.12] without 0.10, %s requests per version, %d runs in all): among runs whose P(candidate wins) fell in a bin, how often the candidate was truly better.\n\n",
		2*reliabilityBy, fmtFloat(reliabilityN), t.reliabilityRuns)
	b.WriteString("| P(win) bin | runs | truly better |\n| --- | ---: | ---: |\n")
	for _, r := range t.reliability {
		fmt.Fprintf(&b, "| %.1f–%.1f | %d | %.3f |\n", r.lo, r.hi, r.runs, r.truth)
	}
	if len(t.verdicts) > 0 {
		v := t.verdicts[0]
		fmt.Fprintf(&b, "\n**Mean verdicts** (absolute limits on a mean, `bounded.go`): %d streams a distribution, the verdict looked at after every window of %d observations up to %s, α = %v, the limit at the true mean (where any verdict is wrong), each stream's metric declaring a range its values leave with probability below 10⁻¹¹ per value. A valid rule stays at or below α (the check allows three standard errors, %.4f). The last columns: how often, and after how many observations, \"mean ≤ 1.5 × truth\" was shown satisfied.\n\n",
			v.streams, verdictWindow, fmtFloat(float64(v.horizon)), v.alpha, verdictErrorBound(v.alpha, v.streams))
		b.WriteString("| stream | declared range | wrongly satisfied | wrongly violated | within α | ≤ 1.5 × truth shown | observations |\n| --- | --- | ---: | ---: | --- | ---: | ---: |\n")
		for _, v := range t.verdicts {
			ok := "yes"
			if v.satisfied > v.alpha || v.violated > v.alpha {
				ok = "**no**"
			}
			obs := fmt.Sprintf("%.0f", v.samples)
			if v.decided == 0 {
				obs = "— (not within " + fmtFloat(float64(v.horizon)) + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %.4f | %.4f | %s | %.3f | %s |\n", v.stream.name, v.stream.rangeStatement, v.satisfied, v.violated, ok, v.decided, obs)
		}
	}
	return b.String()
}

func replaceSection(path, md string) error {
	return gendoc.ReplaceFile(path, "calibration", md)
}
