// Command planbench measures how accurate plans and ETAs are (issue #19)
// and writes the figures into the "planning" section of docs/benchmarks.md
// (`make bench`). For every shared scenario it plans the experiment from
// what a user would know (plan.AssumptionsOf) and compares the planned
// samples to a decision with what the simulator measures on the scenario
// itself; then it runs the scenario with the real engine, keeps every
// state, and compares the ETA shown at 25%, 50% and 75% of each run's
// duration with the time that actually remained.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

func main() {
	runs := flag.Int("runs", 200, "simulator runs a scenario is measured with")
	etaRuns := flag.Int("eta-runs", 8, "traced runs per scenario whose ETAs are checked (few: each needs six ETAs, and make bench runs on 2 cores)")
	seed := flag.Uint64("seed", 1, "seed")
	dir := flag.String("scenarios", "test/scenarios", "scenario directory")
	out := flag.String("out", "docs/benchmarks.md", "markdown file whose planning section to rewrite; empty: print only")
	flag.Parse()
	if err := run(*dir, *out, *runs, *etaRuns, *seed); err != nil {
		slog.Error("planbench", "err", err)
		os.Exit(1)
	}
}

func run(dir, out string, runs, etaRuns int, seed uint64) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no scenarios in %s: %v", dir, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Planning accuracy (`go run ./test/planbench`, seed %d)\n\n", seed)
	b.WriteString("Each scenario is planned from what a user would know (`plan.AssumptionsOf`: the baseline observed alone for an hour, every version's true metric values, not the distribution families), then measured with the simulator under another seed. Target: median within ±20%, p90 within ±30%, judged on the quantiles read as grouped data (samples come in whole windows, so an order statistic jumps by a window's requests: \"grid\"); the order statistics are shown beside them.\n\n")
	b.WriteString("| scenario | planned median (95% MC) | measured | grid ratio | order-stat. ratio | planned p90 (95% MC) | measured | grid ratio | order-stat. ratio | plan runs | plan time | met |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	allMet := true
	var etas []etaRow
	for _, f := range files {
		s, err := simulate.LoadScenario(f)
		if err != nil {
			return err
		}
		t0 := time.Now()
		acc, err := plan.PlanAccuracy(s, runs, seed, 0)
		if err != nil {
			return err
		}
		// Wall time of the plan and the measurement together, on every
		// core of a machine that may be shared.
		cpu := time.Since(t0)
		met := math.Abs(acc.GridMedianRatio-1) <= 0.2 && math.Abs(acc.GridP90Ratio-1) <= 0.3
		allMet = allMet && met
		fmt.Fprintf(&b, "| %s | %.0f (%.0f–%.0f) | %.0f | %.2f | %.2f | %.0f (%.0f–%.0f) | %.0f | %.2f | %.2f | %d | %s | %s |\n",
			s.Name, acc.GridPlanned[0], acc.PlanMedianCI[0], acc.PlanMedianCI[1], acc.GridMeasured[0], acc.GridMedianRatio, acc.MedianRatio,
			acc.GridPlanned[1], acc.PlanP90CI[0], acc.PlanP90CI[1], acc.GridMeasured[1], acc.GridP90Ratio, acc.P90Ratio, acc.PlanRuns, cpu.Round(100*time.Millisecond), yes(met))
		slog.Info("plan accuracy", "scenario", s.Name, "median", acc.GridMedianRatio, "p90", acc.GridP90Ratio, "took", cpu)
		t0 = time.Now()
		res, err := plan.ETAAccuracy(s, etaRuns, 0, seed+10)
		if err != nil {
			return err
		}
		etas = append(etas, etaRow{s.Name, res, time.Since(t0)})
		slog.Info("eta accuracy", "scenario", s.Name, "runs", res.Used, "took", time.Since(t0))
	}
	fmt.Fprintf(&b, "\nEvery scenario within target: **%s**. The plan-run count comes from a step budget (%d engine windows for the expected case, %d per bad-candidate case), so the MC intervals above are the plan's own error; the measured figures use %d runs.\n\n",
		yes(allMet), plan.StepBudget, plan.BadBudget, runs)
	fmt.Fprintf(&b, "### ETA accuracy (%d traced runs a scenario)\n\n", etaRuns)
	b.WriteString("The ETA is the median of the forward simulation from the state (`plan.Estimate` with its defaults); \"ratio\" is ETA / the windows that actually remained, \"in p10–p90\" the share of actual remaining times inside the ETA's 10–90% spread (80% if calibrated).\n\n")
	b.WriteString("**As issue #19 states the target**: at 25%, 50% and 75% of each run's *own* duration (runs that decided after at least four windows), the median ratio over runs within 0.7–1.3. Choosing the moment by the run's own end looks into its future: at 75% of a run's duration exactly a quarter remains, whatever the evidence said, so a predictor unbiased given the state overestimates here whenever durations vary between runs.\n\n")
	etaMet := etaTable(&b, etas2(etas, func(r plan.ETAResult) []plan.ETAPoint { return r.Own }))
	b.WriteString("\n**Without looking ahead**: at 25%, 50% and 75% of the median duration, over the runs still running then; median ETA over median actual remaining time.\n\n")
	etaTable(&b, etas2(etas, func(r plan.ETAResult) []plan.ETAPoint { return r.Fixed }))
	fmt.Fprintf(&b, "\nEvery scenario's ETA within the issue's target (own duration): **%s**.\n", yes(etaMet))
	md := b.String()
	fmt.Print(md)
	if out == "" {
		return nil
	}
	return gendoc.ReplaceFile(out, "planning", md)
}

type etaLine struct {
	name string
	used int
	pts  []plan.ETAPoint
	took time.Duration
}

type etaRow struct {
	name string
	res  plan.ETAResult
	cpu  time.Duration
}

func etas2(rows []etaRow, pick func(plan.ETAResult) []plan.ETAPoint) []etaLine {
	var out []etaLine
	for _, r := range rows {
		out = append(out, etaLine{r.name, r.res.Used, pick(r.res), r.cpu})
	}
	return out
}

// etaTable writes one ETA table; met when every scenario's median ratio
// (median ETA over median actual) is within ±30% at every point.
func etaTable(b *strings.Builder, rows []etaLine) bool {
	b.WriteString("| scenario | runs | ratio at 25% | at 50% | at 75% | median ETA / median actual (25/50/75%) | in p10–p90 | met | time |\n|---|---:|---:|---:|---:|---|---:|---|---:|\n")
	all := true
	for _, e := range rows {
		if e.used == 0 {
			fmt.Fprintf(b, "| %s | 0 | - | - | - | - | - | no run decided: nothing to time | %s |\n", e.name, e.took.Round(time.Second))
			continue
		}
		var med, agg []string
		inside, n := 0, 0
		met := true
		for _, p := range e.pts {
			r := median(p.Ratios)
			met = met && math.Abs(r-1) <= 0.3
			med = append(med, fmt.Sprintf("%.2f", r))
			agg = append(agg, fmt.Sprintf("%.1f/%.1f", median(p.ETAs), median(p.Actuals)))
			inside += p.Inside
			n += len(p.Ratios)
		}
		all = all && met
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %.0f%% | %s | %s |\n", e.name, e.used, med[0], med[1], med[2],
			strings.Join(agg, ", "), 100*float64(inside)/math.Max(1, float64(n)), yes(met), e.took.Round(time.Second))
	}
	return all
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
