// Command planbench measures how accurate plans and ETAs are (issue #19)
// and writes the figures into the "planning" (plans) and "eta" (ETAs)
// sections of docs/benchmarks.md (`make bench`). For every shared scenario
// it plans the experiment from what a user would know
// (plan.AssumptionsOf) and compares the planned samples to a decision
// with what the simulator measures on the scenario itself; then it runs
// the scenario with the real engine, keeps every state, and compares the
// ETA shown at 25%, 50% and 75% of each run's duration with the time that
// actually remained. -eta=false rewrites the plans' section alone, in
// seconds.
//
// Three more modes, all in `make bench`, write sections of
// docs/planning.md: -passage tables the first-passage model of the ideal
// ETA (plan.PassageAccuracy, seconds), -etabound measures the oracle ETA
// alone with many traced runs on the A/B scenarios (tens of minutes), and
// -pool tables the ETA ratios of several -dump files (one seed each)
// together, and writes their verdict into docs/benchmarks.md's
// "pool-summary" section (`make bench-eta-pool`).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

func main() {
	runs := flag.Int("runs", 200, "simulator runs a scenario is measured with")
	etaRuns := flag.Int("eta-runs", defaultETARuns, "traced runs per scenario whose ETAs are checked")
	etaForward := flag.Int("eta-forward", defaultForward, "forward runs of each ETA at most (describe uses up to 100: fewer add Monte Carlo noise to each ETA, not bias)")
	canaryRuns := flag.Int("eta-runs-canary", defaultCanaryRuns, "traced runs of canary scenarios: a bad candidate's ETA ratios are bimodal (it rolls back within a few windows, or is followed as a good one would be), so their median over 24 runs moves with the seed")
	heavyRuns := flag.Int("eta-runs-heavy", defaultHeavyRuns, "traced runs of scenarios with three or more versions, whose ETAs cost several times more")
	only := flag.String("only", "", "comma-separated scenario names to run (default all)")
	seed := flag.Uint64("seed", 1, "seed")
	dir := flag.String("scenarios", "test/scenarios", "scenario directory")
	out := flag.String("out", "docs/benchmarks.md", "markdown file whose planning section to rewrite; empty: print only")
	bound := flag.Bool("etabound", false, "measure only the oracle ETA, with -eta-runs traced runs on the -only scenarios (default "+boundScenarios+"), beside the first-passage model, into the etabound section of -bound-out")
	boundOut := flag.String("bound-out", "docs/planning.md", "markdown file whose etabound (-etabound) or passage (-passage) section to rewrite; empty: print only")
	passageOnly := flag.Bool("passage", false, "table only the first-passage model of the ideal ETA into the passage section of -bound-out (seconds)")
	paths := flag.Int("passage-paths", 8000, "paths a row of -passage")
	stab := flag.Bool("stability", false, "print only how much the ETA jumps between consecutive windows (stability.go), with -eta-runs traced runs (default 4 here) on the -only scenarios (default "+stabilityScenarios+")")
	eta := flag.Bool("eta", true, "measure the ETAs too; -eta=false tables plan accuracy only, into -out's planning section, leaving its eta section as it was")
	dump := flag.String("dump", "", "also write the ETA results, with every ETA's forward runs, as JSON to this file")
	onlyEst := flag.String("estimators", "", "comma-separated ETA estimators to run (default all)")
	poolFiles := flag.String("pool", "", "comma-separated -dump files: table only their own-duration ETA ratios together (pool.go) into the pool section of -bound-out, and their verdict into the pool-summary section of -pool-summary-out")
	summaryOut := flag.String("pool-summary-out", "docs/benchmarks.md", "markdown file whose pool-summary section -pool rewrites with the pooled verdict; empty: print only")
	flag.Parse()
	if *passageOnly {
		if err := passage(*boundOut, *paths, 1000, *seed); err != nil {
			slog.Error("planbench", "err", err)
			os.Exit(1)
		}
		return
	}
	if *stab {
		if *only == "" {
			*only = stabilityScenarios
		}
		if !isSet("eta-runs") {
			*etaRuns = 4
		}
		if err := stability(*dir, *only, *etaRuns, 20, *seed); err != nil {
			slog.Error("planbench", "err", err)
			os.Exit(1)
		}
		return
	}
	if *poolFiles != "" {
		if err := pool(strings.Split(*poolFiles, ","), *boundOut, *summaryOut); err != nil {
			slog.Error("planbench", "err", err)
			os.Exit(1)
		}
		return
	}
	if *bound {
		if *only == "" {
			*only = boundScenarios
		}
		if err := etaBound(*dir, *boundOut, *only, *etaRuns, *runs, *etaForward, *seed); err != nil {
			slog.Error("planbench", "err", err)
			os.Exit(1)
		}
		return
	}
	if !*eta {
		*etaRuns, *canaryRuns = 0, 0
	}
	dumpTo, estNames = *dump, *onlyEst
	if err := run(*dir, *out, *only, *runs, *etaRuns, *canaryRuns, *heavyRuns, *etaForward, *seed); err != nil {
		slog.Error("planbench", "err", err)
		os.Exit(1)
	}
}

func run(dir, out, only string, runs, etaRuns, canaryRuns, heavyRuns, etaForward int, seed uint64) error {
	scenarios, err := loadScenarios(dir, only)
	if err != nil {
		return err
	}
	// Every scenario, for the known-truths estimator's siblings.
	all, err := loadScenarios(dir, "")
	if err != nil {
		return err
	}
	var b strings.Builder
	// The anchor is the section's link target: the heading's own anchor
	// would change with the seed.
	fmt.Fprintf(&b, "<a id=\"planning\"></a>\n\n### Planning accuracy (`go run ./test/planbench`, seed %d)\n\n", seed)
	b.WriteString("Each scenario is planned from what a user would know (`plan.AssumptionsOf`: the baseline observed alone for an hour, every version's true metric values, not the distribution families), then measured with the simulator under another seed. Target: median within ±20%, p90 within ±30%, judged on the quantiles read as grouped data (samples come in whole windows, so an order statistic jumps by a window's requests: \"grid\"). Each cell gives the grid figure, then the order statistic; the plan prints the order statistic, and its 95% Monte Carlo interval is the plan's own (`kn iter8 plan`'s \"95% MC\"), so the grid figure, which interpolates within a window, can lie outside it.\n\n")
	b.WriteString("| scenario | planned median: grid · order stat. (95% MC) | measured | ratio | planned p90: grid · order stat. (95% MC) | measured | ratio | plan runs | plan time | met |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	allMet := true
	var etas []etaRow
	for _, s := range scenarios {
		t0 := time.Now()
		acc, err := plan.PlanAccuracy(s, runs, seed, 0)
		if err != nil {
			return err
		}
		// Wall time of the plan and the measurement together, on every
		// core of a machine that may be shared.
		cpu := time.Since(t0)
		met := acc.MedianMet() && acc.P90Met()
		allMet = allMet && met
		fmt.Fprintf(&b, "| %s | %.0f · %.0f (%.0f–%.0f) | %.0f · %.0f | %.2f · %.2f | %.0f · %.0f (%.0f–%.0f) | %.0f · %.0f | %.2f · %.2f | %d | %s | %s |\n",
			s.Name, acc.GridPlanned[0], acc.Planned.Median, acc.PlanMedianCI[0], acc.PlanMedianCI[1], acc.GridMeasured[0], acc.Measured.Median, acc.GridMedianRatio, acc.MedianRatio,
			acc.GridPlanned[1], acc.Planned.P90, acc.PlanP90CI[0], acc.PlanP90CI[1], acc.GridMeasured[1], acc.Measured.P90, acc.GridP90Ratio, acc.P90Ratio, acc.PlanRuns, cpu.Round(100*time.Millisecond), yes(met))
		slog.Info("plan accuracy", "scenario", s.Name, "median", acc.GridMedianRatio, "p90", acc.GridP90Ratio, "took", cpu)
		if etaRuns == 0 {
			continue
		}
		t0 = time.Now()
		traced := etaRuns
		switch {
		case len(s.Experiment.Versions()) > 2:
			traced = heavyRuns
		case s.Experiment.Kind == events.KindCanary:
			traced = canaryRuns
		}
		refine, err := refineFor(s, acc, seed)
		if err != nil {
			return err
		}
		ests, err := estimators(s, all, etaForward, seed)
		if err != nil {
			return err
		}
		res, err := plan.ETAAccuracy(s, refine, traced, seed+10, ests)
		if err != nil {
			return err
		}
		etas = append(etas, etaRow{s.Name, s.Experiment.Kind == events.KindCanary, res, time.Since(t0)})
		for _, e := range res.Estimators {
			var own, below []string
			for k := range e.Own {
				m, _, _ := medianCI(e.Own[k].Ratios)
				own = append(own, fmt.Sprintf("%.2f", m))
				below = append(below, fmt.Sprintf("%.2f", e.Fixed[k].Below/math.Max(1, float64(len(e.Fixed[k].Ratios)))))
			}
			slog.Info("eta", "scenario", s.Name, "estimator", e.Name, "own", own, "below", below)
		}
		slog.Info("eta accuracy", "scenario", s.Name, "runs", res.Used, "took", time.Since(t0))
	}
	fmt.Fprintf(&b, "\nEvery scenario within target: **%s**. The plan-run count comes from the plan's budget (at most %d engine windows for the expected case and %d per bad-candidate case, and at most %d cost units for the whole plan: [docs/planning.md](planning.md#method)), so the MC intervals above are the plan's own error; the measured figures use %d runs.\n\n",
		yes(allMet), plan.StepBudget, plan.BadBudget, plan.CostBudget, runs)
	fmt.Print(b.String())
	var e strings.Builder
	if etaRuns > 0 {
		etaSection(&e, etas, etaRuns, canaryRuns, heavyRuns, etaForward)
		fmt.Print(e.String())
	}
	if dumpTo != "" {
		if err := dumpETAs(dumpTo, etas); err != nil {
			return err
		}
	}
	if out == "" {
		return nil
	}
	// Two sections, so that -eta=false rewrites the plans' alone and
	// leaves the ETAs' as the last full run wrote them.
	if err := gendoc.ReplaceFile(out, "planning", b.String()); err != nil {
		return err
	}
	if etaRuns == 0 {
		return nil
	}
	return gendoc.ReplaceFile(out, "eta", e.String())
}

// loadScenarios reads the scenarios in dir, in file order, keeping those
// named in the comma-separated only (all when only is empty).
func loadScenarios(dir, only string) ([]simulate.Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no scenarios in %s: %v", dir, err)
	}
	var out []simulate.Scenario
	for _, f := range files {
		s, err := simulate.LoadScenario(f)
		if err != nil {
			return nil, err
		}
		if only == "" || slices.Contains(strings.Split(only, ","), s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}

type etaRow struct {
	name string
	// canary: the last version is a candidate the state must judge.
	canary bool
	res    plan.ETAResult
	took   time.Duration
}

// estimators are plan.ETAEstimators with at most forward runs each, iter8's
// given the hour of the baseline before the start that the plan was made
// from (plan.AssumptionsOf with PlanAccuracy's seed), as describe reads
// it from Prometheus.
func estimators(s simulate.Scenario, all []simulate.Scenario, forward int, seed uint64) ([]plan.ETAEstimator, error) {
	a, err := plan.AssumptionsOf(s, seed+1)
	if err != nil {
		return nil, err
	}
	offered, err := plan.ETAEstimators(s, a.Observed, all, seed+pastSeed)
	if err != nil {
		return nil, err
	}
	var ests []plan.ETAEstimator
	for _, e := range offered {
		if estNames == "" || slices.Contains(strings.Split(estNames, ","), e.Name) {
			e.Options.Runs = forward
			ests = append(ests, e)
		}
	}
	return ests, nil
}

// The defaults of -eta-forward, -eta-runs, -eta-runs-canary and
// -eta-runs-heavy, with which make bench-eta-pool traces the committed
// dumps and which docs/planning.md quotes.
const (
	defaultForward    = 30
	defaultETARuns    = 24
	defaultCanaryRuns = 48
	defaultHeavyRuns  = 12
)

// pastSeed offsets the seed of the past canaries of plan.WithPast from
// the traced runs' and the plan's.
const pastSeed = 20

// dumpTo and estNames are -dump and -estimators.
var dumpTo, estNames string

// dumpETAs writes rows as JSON: each scenario's ETA result, with every
// ETA's forward runs.
func dumpETAs(file string, rows []etaRow) error {
	out := map[string]plan.ETAResult{}
	for _, r := range rows {
		out[r.name] = r.res
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// MinWindows is how many windows the median run of an ETA benchmark
// should last: a quarter of a run is then several windows, and a ratio is
// not one window over another.
const MinWindows = 20

// MaxRefine is the most windows one of a scenario's is cut into: an ETA's
// cost grows with the windows it simulates.
const MaxRefine = 40

// refineFor is how many windows to cut each of s's into so that its median
// run lasts MinWindows (at most MaxRefine): guessed from the measured
// median samples over one window's requests, then checked by simulating
// (plan.Refine), since a rule that decides within a window decides sooner
// in shorter ones.
func refineFor(s simulate.Scenario, acc plan.Accuracy, seed uint64) (int, error) {
	medianWindows := acc.GridMeasured[0] / float64(s.Traffic.RequestsPerInterval)
	guess := 1
	if medianWindows > 0 {
		guess = int(math.Ceil(MinWindows / medianWindows))
	}
	return plan.Refine(s, guess, MinWindows, MaxRefine, seed+10)
}

func etaSection(b *strings.Builder, rows []etaRow, runs, canary, heavy, forward int) {
	fmt.Fprintf(b, "<a id=\"eta-accuracy\"></a>\n\n### ETA accuracy (%d traced runs a scenario, %d a canary, %d with three versions; ETAs of at most %d forward runs)\n\n", runs, canary, heavy, forward)
	b.WriteString("Each scenario is run with the real engine, its windows cut into *refine* shorter ones (same rate) so that its median run lasts at least " + fmt.Sprint(MinWindows) + " windows (checked on a pilot of " + fmt.Sprint(plan.RefinePilotRuns) + " runs; at most " + fmt.Sprint(MaxRefine) + " windows to one; the horizon cut as finely, up to " + fmt.Sprint(plan.ETAMaxWindows) + " windows, beyond which an ETA folds windows and would measure the fold), and every state is kept. The ETA is then estimated from the state three ways, a fourth where two scenarios share one experiment, and for those canaries a fifth: **iter8** (what `describe`, `watch` and the report show: `plan.Estimate`'s defaults, with the survival correction and posterior draws, and for a canary the hour of the baseline before the start that the plan is made from, as they read it from Prometheus), **point estimates** (the estimates as the data give them, the ETA before the correction) and an **oracle** that knows the scenario's true distributions and continues the same state: the best any estimate from the state could do; and **known truths**, which knows the runs come from one of the truths of the scenarios sharing the experiment (canary-good and canary-bad-errors; aa-conversion and ab-conversion), not which, and weighs them, a priori equally likely, by the state's data (`plan.ETAOptions.Truths`): what a prior fitted to the benchmark's scenarios would give, so that where it meets a target iter8 misses, the state held enough and iter8's prior is what fell short; and **iter8 with 8 past canaries**, iter8's ETA on a Service whose last 8 canaries were like those scenarios in turn, 4 of each, each run once to its end by the real engine (`plan.PastCanaries`, seed +" + fmt.Sprint(pastSeed) + "): the prior `describe` takes from the Service's `iter8.dev/past` annotation (`plan.ETAOptions.Past`). \"Ratio\" is the ETA shown (the lower 40% of the forward runs, `plan.ETALevel`) / the windows that actually remained, the median over runs with its 95% interval (order statistics).\n\n")
	b.WriteString("**As issue #19 states the target**: at 25%, 50% and 75% of each run's *own* duration (runs that decided after at least four windows), the median ratio within 0.7–1.3.\n\n")
	b.WriteString("| scenario | refine | runs | median windows | estimator | ratio at 25% | at 50% | at 75% | within ±30% |\n|---|---:|---:|---:|---|---|---|---|---|\n")
	// met and offered count, by estimator, the scenarios that decide
	// where it meets the target and where it was run.
	met, offered := map[string]int{}, map[string]int{}
	var order []string
	timed := 0
	for _, r := range rows {
		if r.res.Used == 0 {
			fmt.Fprintf(b, "| %s | %d | 0 | - | - | - | - | - | no run decided: nothing to time (%s) |\n", r.name, r.res.Refine, r.took.Round(time.Second))
			continue
		}
		timed++
		for _, e := range r.res.Estimators {
			ok := true
			var cells []string
			for _, p := range e.Own {
				m, lo, hi := medianCI(p.Ratios)
				ok = ok && withinTarget(m)
				cells = append(cells, fmt.Sprintf("%.2f (%.2f–%.2f)", m, lo, hi))
			}
			if !slices.Contains(order, e.Name) {
				order = append(order, e.Name)
			}
			offered[e.Name]++
			if ok {
				met[e.Name]++
			}
			fmt.Fprintf(b, "| %s | %d | %d | %.0f | %s | %s | %s | %s | %s |\n", r.name, r.res.Refine, r.res.Used, r.res.Windows, e.Name, cells[0], cells[1], cells[2], yes(ok))
		}
	}
	var parts []string
	for _, name := range order {
		of := fmt.Sprintf("%d of %d scenarios that decide", met[name], offered[name])
		if offered[name] < timed {
			of = fmt.Sprintf("%d of the %d it applies to", met[name], offered[name])
		}
		if name == plan.Shown {
			of = "**" + of + "**"
		}
		parts = append(parts, name+" on "+of)
	}
	fmt.Fprintf(b, "\nWithin the target: %s.\n\n", strings.Join(parts, "; "))
	b.WriteString("Choosing the moment by the run's own end looks into its future: at 75% of a run exactly a quarter remains, whatever the evidence said. A run that ends early got there by a late run of luck no state can foresee, so the median remaining time is long there whenever durations vary between runs; that is why the ETA shown is the lower 40% of the forward runs ([docs/planning.md](planning.md#which-point-is-shown), where the first-passage model shows both in closed form).\n\n")
	quarter(b, rows)
	b.WriteString("**Without looking ahead** (calibration at the scenario's fixed true values): at 25%, 50% and 75% of the median duration, over the runs still running then. \"Below median\" is the share of runs that decided before the forward runs' median (a tie counts one half; 50% if calibrated); \"in p10–p90\" the share inside the ETA's 10–90% spread (80% if calibrated). Remaining windows are whole numbers, so a calibrated ETA whose p10 and p90 fall on one or two windows scores well below 80% there; the PIT columns read the same two checks off the randomised probability integral transform u of the actual remaining windows under the ETA's forward runs (u uniform between the shares of runs shorter and not longer, by rank), which is uniform whenever the ETA's distribution is the true one, lattice or not: \"u < ½\" is 50% and \"u in 10–90%\" 80% if calibrated.\n\n")
	b.WriteString("| scenario | estimator | runs at 25/50/75% | below median at 25% | at 50% | at 75% | in p10–p90 | u < ½ at 25% | at 50% | at 75% | u in 10–90% | time (all estimators) |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		if r.res.Used == 0 {
			continue
		}
		for _, e := range r.res.Estimators {
			c := calibrationOf(e)
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, e.Name, strings.Join(c.runs, "/"), c.below[0], c.below[1], c.below[2], c.inside,
				c.pitBelow[0], c.pitBelow[1], c.pitBelow[2], c.pitInside, r.took.Round(time.Second))
		}
	}
}

// calibration is one estimator's calibration without looking ahead, as
// the table prints it: at each fixed moment the runs still running, the
// share below the forward runs' median and the share with u < ½; over
// the three moments, the shares inside p10–p90 and with u in 10–90%.
type calibration struct {
	runs, below, pitBelow []string
	inside, pitInside     string
}

func calibrationOf(e plan.ETAEstimates) calibration {
	var c calibration
	inside, pitInside, all := 0.0, 0.0, 0
	for _, p := range e.Fixed {
		k := len(p.Ratios)
		c.runs = append(c.runs, fmt.Sprint(k))
		c.below = append(c.below, fmt.Sprintf("%.0f%%", 100*p.Below/math.Max(1, float64(k))))
		c.pitBelow = append(c.pitBelow, fmt.Sprintf("%.0f%%", 100*p.PITBelow/math.Max(1, float64(k))))
		inside += p.Inside
		pitInside += p.PITInside
		all += k
	}
	c.inside = fmt.Sprintf("%.0f%%", 100*inside/math.Max(1, float64(all)))
	c.pitInside = fmt.Sprintf("%.0f%%", 100*pitInside/math.Max(1, float64(all)))
	return c
}

// medianCI is the median of xs with its 95% distribution-free interval:
// the order statistics at n/2 ± 0.98·√n.
func medianCI(xs []float64) (m, lo, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	h := 0.98 * math.Sqrt(float64(n))
	at := func(x float64) float64 { return s[min(n-1, max(0, int(math.Round(x))))] }
	return median(s), at(float64(n)/2 - h - 1), at(float64(n)/2 + h)
}

// withinTarget reports whether a median ratio of ETA to remaining time
// meets issue #19's target, within ±30%, ends included. It compares the
// ratio with the ends, not its distance from 1 with 0.3: a ratio of
// exactly 7/10 is the double nearest 0.7, but 1 − it is 0.30000000000000004.
func withinTarget(m float64) bool { return m >= 0.7 && m <= 1.3 }

// countOf is how many of xs in holds for.
func countOf(xs []float64, in func(float64) bool) int {
	n := 0
	for _, x := range xs {
		if in(x) {
			n++
		}
	}
	return n
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
