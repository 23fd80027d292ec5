// Command bench is the decision-quality benchmark behind `make bench`: it
// runs every scenario in test/scenarios under every policy
// of pkg/simulate, prints one table, and writes it with the machine it ran
// on to docs/benchmarks.md. It reports; it asserts nothing.
//
//	go run ./test/bench [-scenarios DIR] [-runs N] [-seed S] [-out FILE]
//
// BENCH_RUNS and BENCH_SEED set -runs and -seed; ITER8_SCENARIOS sets
// -scenarios (default test/scenarios, run from the repository's root).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func run() error {
	// The repository's own scenarios, unless ITER8_SCENARIOS or the flag
	// names another set.
	defDir := os.Getenv("ITER8_SCENARIOS")
	if defDir == "" {
		defDir = "test/scenarios"
	}
	dir := flag.String("scenarios", defDir, "scenario directory")
	runs := flag.Int("runs", envInt("BENCH_RUNS", 500), "runs per scenario and policy")
	seed := flag.Uint64("seed", uint64(envInt("BENCH_SEED", 1)), "seed")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to write; empty: none")
	workers := flag.Int("workers", 0, "parallel runs (default GOMAXPROCS)")
	flag.Parse()

	files, err := simulate.ScenarioFiles(*dir)
	if err != nil {
		return err
	}
	began := time.Now()
	var rows []row
	for _, f := range files {
		s, err := simulate.LoadScenario(f)
		if err != nil {
			return err
		}
		for _, p := range simulate.Policies() {
			t := time.Now()
			n := *runs
			if isAA(s) && (p == simulate.PolicyIter8 || p == simulate.PolicyIter8Earn) {
				// "Any winner" <= δ needs enough runs to be seen.
				n = max(n, aaRuns)
			}
			r, err := simulate.Run(s, simulate.Options{Runs: n, Seed: *seed, Policy: p, Workers: *workers})
			if errors.Is(err, simulate.ErrNotApplicable) {
				rows = append(rows, row{scenario: s, policy: p, skipped: err.Error()})
				continue
			}
			if err != nil {
				return err
			}
			if p == simulate.PolicyFlagger && s.Experiment.Reward != nil {
				// Flagger has no reward metric: the winner rule is ours.
				p = flaggerReward
				r.Policy = p
			}
			rows = append(rows, row{scenario: s, policy: p, report: r})
			fmt.Fprintf(os.Stderr, "%-18s %-14s %6.1fs\n", s.Name, p, time.Since(t).Seconds())
		}
		// iter8 again with windows of 100 requests where a reward bound
		// exists: the rules must hold, and stay fast, at any window size.
		if s.Traffic.RequestsPerInterval == smallWindow || !hasRewardBound(s) {
			continue
		}
		small := s
		small.Traffic.MaxIntervals = int(int64(s.Traffic.MaxIntervals) * s.Traffic.RequestsPerInterval / smallWindow)
		small.Traffic.RequestsPerInterval = smallWindow
		r, err := simulate.Run(small, simulate.Options{Runs: *runs, Seed: *seed, Policy: simulate.PolicyIter8, Workers: *workers})
		if err != nil {
			return err
		}
		r.Policy = simulate.PolicyIter8 + " (windows of 100)"
		rows = append(rows, row{scenario: small, policy: r.Policy, report: r})
	}
	elapsed := time.Since(began)

	var b strings.Builder
	writeTable(&b, rows)
	fmt.Print(b.String())
	if *out == "" {
		return nil
	}
	var doc strings.Builder
	writeDoc(&doc, rows, *dir, *runs, *seed, elapsed, b.String())
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	// Other generators own marked sections of the same file: keep them.
	if err := gendoc.KeepFile(*out, doc.String()); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", *out)
	return nil
}

// smallWindow is the second window size the reward scenarios run at.
const smallWindow = 100

// aaRuns is the fewest runs iter8's policies get on an A/A scenario, so
// that "any winner" <= δ = 0.05 is measured with a standard error of 0.007.
const aaRuns = 1000

// flaggerReward names the flagger policy on a scenario with a reward:
// Flagger has no reward metric, so the rule that picks the winner is ours.
const flaggerReward = simulate.PolicyFlagger + "-like (our reward rule)"

// isAA reports whether an A/B(/n) scenario expects no candidate to win.
func isAA(s simulate.Scenario) bool {
	spec := s.Experiment.Defaulted()
	return (spec.Kind == "ab" || spec.Kind == "abn") &&
		!slices.ContainsFunc(s.Expect, func(o string) bool { return slices.Contains(spec.Candidates, o) })
}

// hasRewardBound reports whether the scenario has a lower bound on its
// reward decision's samples (Garivier–Kaufmann or Gaussian two-arm).
func hasRewardBound(s simulate.Scenario) bool {
	return simulate.GKBound(s, simulate.TruthOf(s)) != nil || gaussianBound(s) > 0
}

// gaussianBound is T*·kl(δ, 1−δ) for two versions with normal truths on a
// mean reward, T* = 2(σ1 + σ2)²/Δ² with the true standard deviations (the
// optimal allocation σ1 : σ2); 0 when the scenario has none.
func gaussianBound(s simulate.Scenario) float64 {
	spec := s.Experiment.Defaulted()
	vs := spec.Versions()
	if spec.Reward == nil || len(vs) != 2 {
		return 0
	}
	var mu, sd [2]float64
	for i, v := range vs {
		n := s.Truth[v][spec.Reward.Metric].Normal
		if n == nil {
			return 0
		}
		mu[i], sd[i] = *n.Mean, *n.SD
	}
	d := mu[0] - mu[1]
	if d == 0 {
		return 0
	}
	delta := 1 - spec.Confidence
	return 2 * (sd[0] + sd[1]) * (sd[0] + sd[1]) / (d * d) * stats.KLBernoulli(delta, 1-delta)
}

type row struct {
	scenario simulate.Scenario
	policy   string
	report   simulate.Report
	skipped  string
}

func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| scenario | policy | correct (95% CI) | outcomes | samples mean | median | p90 | failing share | regret | ÷ GK bound |")
	fmt.Fprintln(w, "|---|---|---|---|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		if r.skipped != "" {
			fmt.Fprintf(w, "| %s | %s | n/a: %s |||||||\n", r.scenario.Name, r.policy, r.skipped)
			continue
		}
		c := simulate.TableRow(r.report)
		ci := r.report.CorrectRateInterval
		fmt.Fprintf(w, "| %s | %s | %s (%.3f–%.3f) | %s | %s | %s | %s | %s | %s | %s |\n",
			c[0], c[1], c[2], ci[0], ci[1], c[3], c[4], c[5], c[6], c[7], c[8], c[9])
	}
}

func writeDoc(w io.Writer, rows []row, dir string, runs int, seed uint64, elapsed time.Duration, table string) {
	fmt.Fprintf(w, `# Decision-quality benchmarks

Generated by `+"`make bench`"+` (`+"`go run ./test/bench`"+`) on %s; do not edit by hand.
Every scenario in `+"`%s`"+` ran %d times under every policy (iter8 and iter8-earn %d times on A/A scenarios), seed %d, in %s.

Machine:

- `+"`%s`"+`
- CPU: %s (%d logical CPUs)
- %s

`, time.Now().UTC().Format("2006-01-02 15:04 MST"), relPath(dir), runs, max(runs, aaRuns), seed, elapsed.Round(time.Second),
		command("uname", "-a"), cpuModel(), runtime.NumCPU(), command("go", "version"))

	fmt.Fprint(w, `## Results

correct: the share of runs whose outcome the scenario expects, with its 95%
Wilson interval. samples: requests served, over all versions, until the
decision (a run that never decides counts the whole horizon). failing share:
the share of all requests served by versions whose true values violate an
objective. regret: conversions (reward units) lost until the decision against
always serving the best feasible version. ÷ GK bound: mean samples over the
Garivier–Kaufmann lower bound on the expected samples of any δ-correct policy.

`)
	fmt.Fprint(w, table)
	writeTheory(w, rows)
	writeGoals(w, rows)
	fmt.Fprint(w, methodology)
}

// writeTheory lists each scenario's references for iter8 and iter8-earn:
// samples against the GK bound, regret against Lai–Robbins, and the level
// the e-processes must reach.
func writeTheory(w io.Writer, rows []row) {
	fmt.Fprint(w, "\n## Theory\n\n")
	fmt.Fprintln(w, "| scenario | policy | GK lower bound (samples) | samples mean | Lai–Robbins constant | × ln T (T = horizon requests) | regret to horizon | level iter8's e-processes must reach vs kl(δ, 1−δ) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		if (r.policy != simulate.PolicyIter8 && r.policy != simulate.PolicyIter8Earn) || r.skipped != "" {
			continue
		}
		rep := r.report
		gk, lr, lrT, thr := "—", "—", "—", "—"
		if rep.LowerBound != nil {
			gk = fmt.Sprintf("%.0f", rep.LowerBound.Samples)
			thr = evidenceNeeded(r.scenario, rep.Samples.Median)
		}
		if rep.LaiRobbins != nil {
			lr = fmt.Sprintf("%.2f", rep.LaiRobbins.Constant)
			lrT = fmt.Sprintf("%.0f (T = %d)", rep.LaiRobbins.Regret, rep.LaiRobbins.Requests)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %.0f | %s |\n", rep.Scenario, r.policy, gk, rep.Samples.Mean, lr, lrT, rep.Regret.HorizonMean, thr)
	}
}

// evidenceNeeded states the level iter8's reward e-processes must reach,
// ln(K/δ), against the kl(δ, 1−δ) that the GK bound charges; the rest of
// the gap is the mixture's price of not knowing the lift.
func evidenceNeeded(sc simulate.Scenario, _ float64) string {
	spec := sc.Experiment.Defaulted()
	k := len(spec.Versions())
	delta := 1 - spec.Confidence
	if len(spec.Objectives) > 0 {
		delta /= 2 // the engine's budget: half to objectives, half to the best version
	}
	level := stats.BestEvidence(k, delta)
	kl := stats.KLBernoulli(delta, 1-delta)
	return fmt.Sprintf("ln(K/δ) %.2f vs %.2f: ×%.2f before the mixture's price", level, kl, level/kl)
}

// writeGoals reports iter8 against the project's decision-quality goals.
// It states what holds and what does not; it fails nothing.
func writeGoals(w io.Writer, rows []row) {
	fmt.Fprint(w, "\n## Goals (reported, not asserted)\n\n| goal | scenario | policy | value | met |\n|---|---|---|---|---|\n")
	byKey := map[[2]string]simulate.Report{}
	for _, r := range rows {
		if r.skipped == "" {
			byKey[[2]string{r.scenario.Name, r.policy}] = r.report
		}
	}
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	for _, r := range rows {
		if !strings.HasPrefix(r.policy, simulate.PolicyIter8) || r.policy == simulate.PolicyIter8V1 || r.skipped != "" {
			continue
		}
		rep, s := r.report, r.scenario
		spec := s.Experiment.Defaulted()
		delta := 1 - spec.Confidence
		fmt.Fprintf(w, "| correct-decision rate ≥ 1−δ = %.2f | %s | %s | %.3f | %s |\n", 1-delta, s.Name, r.policy, rep.CorrectRate, met(rep.CorrectRate >= 1-delta))
		if isAA(s) {
			// A/A: any promoted version, baseline included, is a false winner.
			wrong := 0
			for _, v := range spec.Versions() {
				wrong += rep.Outcomes[v]
			}
			rate := float64(wrong) / float64(rep.Runs)
			fmt.Fprintf(w, "| A/A \"any winner\" (every version counted) ≤ δ = %.2f | %s | %s | %.3f over %d runs | %s |\n", delta, s.Name, r.policy, rate, rep.Runs, met(rate <= delta))
		}
		if r.policy == simulate.PolicyIter8Earn {
			// earn trades samples for regret: its goals are the decision
			// guarantee above and the regret, reported against Lai–Robbins
			// beside iter8's (the sample goals are the identify-fastest
			// policy's).
			if it, ok := byKey[[2]string{s.Name, simulate.PolicyIter8}]; ok && !isAA(s) {
				lr := "—"
				if rep.LaiRobbins != nil {
					lr = fmt.Sprintf("%.0f", rep.LaiRobbins.Regret)
				}
				fmt.Fprintf(w, "| regret to horizon below iter8's (Lai–Robbins %s) | %s | %s | %.1f vs %.1f (samples %.0f vs %.0f) | %s |\n",
					lr, s.Name, r.policy, rep.Regret.HorizonMean, it.Regret.HorizonMean, rep.Samples.Mean, it.Samples.Mean, met(rep.Regret.HorizonMean < it.Regret.HorizonMean))
			}
			continue
		}
		if rep.RatioToLowerBound != nil {
			x := *rep.RatioToLowerBound
			fmt.Fprintf(w, "| samples ≤ 2.0 × GK bound (aim 1.5 ×) | %s | %s | %.2f × | %s |\n", s.Name, r.policy, x, met(x <= 2.0))
		}
		if g := gaussianBound(s); g > 0 {
			x := rep.Samples.Mean / g
			fmt.Fprintf(w, "| samples ≤ 3 × Gaussian two-arm bound (%.0f) | %s | %s | %.2f × | %s |\n", g, s.Name, r.policy, x, met(x <= 3))
		}
		if r.policy != simulate.PolicyIter8 {
			continue
		}
		f, ok := byKey[[2]string{s.Name, simulate.PolicyFlagger}]
		if !ok {
			f, ok = byKey[[2]string{s.Name, flaggerReward}]
		}
		if ok && len(spec.Objectives) > 0 && f.CorrectRate >= 1-delta {
			fmt.Fprintf(w, "| samples ≤ flagger's (where flagger is correct) | %s | %s | %.0f vs %.0f | %s |\n", s.Name, r.policy, rep.Samples.Mean, f.Samples.Mean, met(rep.Samples.Mean <= f.Samples.Mean))
		}
		if ok && slices.Contains(simulate.TruthOf(s).Failing, true) {
			fmt.Fprintf(w, "| failing-version share below flagger's | %s | %s | %.4f vs %.4f | %s |\n", s.Name, r.policy, rep.FailingExposure, f.FailingExposure, met(rep.FailingExposure < f.FailingExposure))
		}
	}
}

func command(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return fmt.Sprintf("%s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func relPath(dir string) string {
	if cwd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(cwd, dir); err == nil {
			return r
		}
	}
	return dir
}
