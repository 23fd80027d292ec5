package main

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iter8-knative/iter8/pkg/plan"
)

// quoter renders figures of pooled dumps as the docs' prose quotes them.
type quoter struct {
	t  *testing.T
	by map[string]*pooled
}

func (q quoter) point(scenario, est string, k int) plan.ETAPoint {
	q.t.Helper()
	p, ok := q.by[scenario]
	if !ok || len(p.points[est]) <= k {
		q.t.Fatalf("the dumps hold no %s runs of %s at point %d", est, scenario, k)
	}
	return p.points[est][k]
}

// median is the median ratio at point k (0, 1, 2: 25%, 50%, 75%).
func (q quoter) median(scenario, est string, k int) float64 {
	m, _, _ := medianCI(q.point(scenario, est, k).Ratios)
	return m
}

func (q quoter) f(scenario, est string, k int) string {
	return fmt.Sprintf("%.2f", q.median(scenario, est, k))
}

// ci is "median (lo–hi)" at point k.
func (q quoter) ci(scenario, est string, k int) string {
	m, lo, hi := medianCI(q.point(scenario, est, k).Ratios)
	return fmt.Sprintf("%.2f (%.2f–%.2f)", m, lo, hi)
}

// three are the medians at 25%, 50% and 75%, the first as first renders it.
func (q quoter) three(scenario, est string, first func(string, string, int) string) string {
	return first(scenario, est, 0) + ", " + q.f(scenario, est, 1) + ", " + q.f(scenario, est, 2)
}

// other is the median ratio at point k had the ETA been the point named.
func (q quoter) other(scenario, est, name string, k int) string {
	q.t.Helper()
	i := slices.IndexFunc(points, func(p point) bool { return p.name == name })
	if i < 0 {
		q.t.Fatalf("no point %q", name)
	}
	rs, err := ratiosAt(q.point(scenario, est, k), points[i])
	if err != nil {
		q.t.Fatal(err)
	}
	m, _, _ := medianCI(rs)
	return fmt.Sprintf("%.2f", m)
}

// misses are the seeds (dumps in order, from 1) whose median at 25% alone
// is outside the target, as "0.57 and 0.65 (seeds 2 and 3)".
func (q quoter) misses(scenario string) string {
	var ms, seeds []string
	for i, m := range q.by[scenario].dumpMedians(plan.Shown) {
		if !withinTarget(m) {
			ms, seeds = append(ms, fmt.Sprintf("%.2f", m)), append(seeds, fmt.Sprint(i+1))
		}
	}
	word := "seed"
	if len(seeds) > 1 {
		word = "seeds"
	}
	return fmt.Sprintf("%s (%s %s)", joinAnd(ms), word, joinAnd(seeds))
}

// The figures docs/planning.md's and README's prose quote from the pooled
// dumps, rendered here from the committed dumps: a trace that moves one
// fails here until the prose says what the tables say.
func TestProseQuotesThePool(t *testing.T) {
	dumps, err := readDumps(committedDumps(t))
	if err != nil {
		t.Fatal(err)
	}
	by, _ := poolDumps(dumps)
	q := quoter{t, by}
	const bad, good = "canary-bad-errors", "canary-good"
	iter8, oracle, truths, past := plan.Shown, plan.Oracle, plan.KnownTruths, plan.WithPast
	pct := func(scenario, est string, k int, in func(float64) bool) string {
		return shareOf(q.point(scenario, est, k).Ratios, in)
	}
	rest := []string{"ab-conversion", "ab-latency-seconds", "abn-three", good, "performance-pass"}
	for _, s := range rest {
		for k := range 3 {
			if m := q.median(s, iter8, k); !withinTarget(m) {
				t.Errorf("docs/planning.md says the pooled ETA meets the target on %s, but at point %d its median ratio is %.2f", s, k, m)
			}
		}
	}
	if q.median(bad, iter8, 0) <= 1.3 {
		t.Errorf("docs/planning.md says the pooled ETA misses %s at 25%%, long, but it is %s", bad, q.f(bad, iter8, 0))
	}
	if q.misses(good) != q.misses("abn-three") {
		t.Errorf("docs/planning.md says abn-three and canary-good leave the target on the same seed, at the same figure: %s and %s", q.misses("abn-three"), q.misses(good))
	}
	// Seed 1 alone, the benchmark table's: the scenarios it meets.
	seed1, order1 := poolDumps([]map[string]plan.ETAResult{dumps[0], dumps[4], dumps[8]})
	met1 := 0
	for _, s := range order1 {
		ok := true
		for _, pt := range seed1[s].points[iter8] {
			m, _, _ := medianCI(pt.Ratios)
			ok = ok && withinTarget(m)
		}
		if ok {
			met1++
		}
	}
	q1 := quoter{t, seed1}
	m50, lo50, hi50 := medianCI(q1.point(bad, iter8, 1).Ratios)
	pooledBad := q.point(bad, iter8, 0)
	planning := []string{
		fmt.Sprintf("ab-conversion %s (%d runs); ab-latency-seconds %s (%d); abn-three %s (%d); canary-good %s (%d); performance-pass %s (%d); **canary-bad-errors %s** (%d)",
			q.three("ab-conversion", iter8, q.f), by["ab-conversion"].runs, q.three("ab-latency-seconds", iter8, q.f), by["ab-latency-seconds"].runs,
			q.three("abn-three", iter8, q.f), by["abn-three"].runs, q.three(good, iter8, q.f), by[good].runs,
			q.three("performance-pass", iter8, q.f), by["performance-pass"].runs, q.three(bad, iter8, q.ci), by[bad].runs),
		fmt.Sprintf("a bad canary's at 25%% is %s on seeds 1 to %d", joinAnd(twoPlaces(by[bad].dumpMedians(iter8))), len(by[bad].first[iter8])),
		fmt.Sprintf("ab-conversion %s, ab-latency-seconds %s, abn-three and canary-good %s, performance-pass %s. Pooled, all of them are within it.",
			q.misses("ab-conversion"), q.misses("ab-latency-seconds"), q.misses("abn-three"), q.misses("performance-pass")),
		fmt.Sprintf("iter8 meets the target on %d of %d as well, but misses the bad canary at 50%% (%.2f, interval %.2f–%.2f) where the pooled runs give %s.",
			met1, len(order1), m50, lo50, hi50, q.f(bad, iter8, 1)),
		fmt.Sprintf("below 0.7 in %s of runs and above 1.3 in %s", pct(bad, iter8, 0, func(x float64) bool { return x < 0.7 }), pct(bad, iter8, 0, func(x float64) bool { return x > 1.3 })),
		fmt.Sprintf("in %d of the %d runs the candidate had served at most %d requests at 25%%", by[bad].few, by[bad].runs, fewServed),
		fmt.Sprintf("A bad canary's durations vary with a CV of %.2f", cv(by[bad].durations)),
		fmt.Sprintf("Only the oracle, which knows the truth, meets it with room: %s.", q.three(bad, oracle, q.ci)),
		fmt.Sprintf("their lower 30%% gives %s (and %s at 50%%), their median %s, and the point most of them are within ±30%% of %s.",
			q.other(bad, iter8, "lower 30%", 0), q.other(bad, iter8, "lower 30%", 1), q.other(bad, iter8, "median", 0), q.other(bad, iter8, "densest", 0)),
		fmt.Sprintf("the lower 30%% misses ab-conversion and ab-latency-seconds at 25%% (%s, %s), the median abn-three and performance-pass (%s, %s).",
			q.other("ab-conversion", iter8, "lower 30%", 0), q.other("ab-latency-seconds", iter8, "lower 30%", 0), q.other("abn-three", iter8, "median", 0), q.other("performance-pass", iter8, "median", 0)),
		fmt.Sprintf("in %d of the %d states at 25%%, fewer than %.0f%% of iter8's forward runs ended within ±30%% of the time that actually remained; of the oracle's, in %d, and of known truths', in %d.",
			countFar(pooledBad), len(pooledBad.Actuals), 100*farFrom, countFar(q.point(bad, oracle, 0)), countFar(q.point(bad, truths, 0))),
		fmt.Sprintf("the lower 30%% of the runs would meet a bad canary (%s, %s, %s) but not a good one (%s at 25%%), which the lower 40%% meets (%s)",
			q.other(bad, past, "lower 30%", 0), q.other(bad, past, "lower 30%", 1), q.other(bad, past, "lower 30%", 2), q.other(good, past, "lower 30%", 0), q.f(good, past, 0)),
		fmt.Sprintf("only known truths' lower 40%% does (%s and %s at 25%%)", q.f(bad, truths, 0), q.f(good, truths, 0)),
		fmt.Sprintf("Pooled it is %s: on the target's edge (on a good canary %s)", q.three(bad, truths, q.ci), q.three(good, truths, q.f)),
		fmt.Sprintf("Pooled it is %s: it brings iter8's %s at 25%% down to %s, and not within the target; on a good canary it is %s, as iter8's default is (%s)",
			q.three(bad, past, q.ci), q.f(bad, iter8, 0), q.f(bad, past, 0), q.three(good, past, q.f), q.f(good, iter8, 0)),
	}
	readme := []string{
		fmt.Sprintf("into a bad canary's run it is long (the median ETA is %s times the time that remained, over %d runs of four seeds)", q.f(bad, iter8, 0), by[bad].runs),
	}
	requireQuotes(t, "../../docs/planning.md", "the committed dumps", planning)
	requireQuotes(t, "../../README.md", "the committed dumps", readme)
}

// requireQuotes fails t for each claim that the doc at path does not make,
// as rendered from what.
func requireQuotes(t *testing.T, path, what string, claims []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Prose is wrapped: a quote may break across lines.
	text := strings.Join(strings.Fields(string(raw)), " ")
	for _, c := range claims {
		if !strings.Contains(text, c) {
			t.Errorf("%s does not say what %s give:\n%s", path, what, c)
		}
	}
}

// calibrationIn is est's calibration in res, as the seed-1 table in
// docs/benchmarks.md prints it.
func calibrationIn(t *testing.T, res plan.ETAResult, est string) calibration {
	t.Helper()
	return calibrationOf(estimatesIn(t, res, est))
}

// estimatesIn is est's estimates in res.
func estimatesIn(t *testing.T, res plan.ETAResult, est string) plan.ETAEstimates {
	t.Helper()
	i := slices.IndexFunc(res.Estimators, func(e plan.ETAEstimates) bool { return e.Name == est })
	if i < 0 {
		t.Fatalf("no %s estimator in the dump", est)
	}
	return res.Estimators[i]
}

// mcPoints is the prose's ±points over n runs: two standard errors, in
// percentage points, of a share near ½.
func mcPoints(n int) float64 { return 200 * math.Sqrt(0.25/float64(n)) }

// pastAndOracle is the prose's "(with the past a, b, c and d; the oracle
// a, b, c and d)": u < ½ at each moment and u in 10–90% of the two.
func pastAndOracle(past, oracle calibration) string {
	pb, ob := past.pitBelow, oracle.pitBelow
	return fmt.Sprintf("(with the past %s, %s, %s and %s; the oracle %s, %s, %s and %s)", pb[0], pb[1], pb[2], past.pitInside, ob[0], ob[1], ob[2], oracle.pitInside)
}

// The calibration figures docs/planning.md quotes for seed 1 are the
// seed-1 dumps' (the same runs as the seed-1 table of docs/benchmarks.md),
// and so is the Monte Carlo error it gives them.
func TestProseQuotesSeedOneCalibration(t *testing.T) {
	dumps := map[string]plan.ETAResult{}
	for _, f := range []string{"bad1.json", "good1.json", "rest1.json"} {
		d, err := readDump(filepath.Join(poolDir, f))
		if err != nil {
			t.Fatalf("%v: %s", err, regenerate)
		}
		maps.Copy(dumps, d)
	}
	mc := func(n int) string { return fmt.Sprintf("±%.0f points", mcPoints(n)) }
	canary := func(scenario string, first bool) string {
		c := calibrationIn(t, dumps[scenario], plan.Shown)
		b := c.pitBelow
		head := fmt.Sprintf("%s, %s, %s and %s", b[0], b[1], b[2], c.pitInside)
		if first {
			head = fmt.Sprintf("u < ½ in %s, %s, %s of runs at 25%%, 50%%, 75%% of the median duration, u in 10–90%% in %s", b[0], b[1], b[2], c.pitInside)
		}
		return fmt.Sprintf("%s %s %s", scenario, head, pastAndOracle(calibrationIn(t, dumps[scenario], plan.WithPast), calibrationIn(t, dumps[scenario], plan.Oracle)))
	}
	pc := calibrationIn(t, dumps["performance-pass"], plan.Oracle)
	perf, perfRuns := pc.pitBelow, pc.runs
	claims := []string{
		fmt.Sprintf("Seed 1 alone had looked calibrated (%d runs; %s of Monte Carlo error): %s; %s.", defaultCanaryRuns, mc(defaultCanaryRuns), canary("canary-bad-errors", true), canary("canary-good", false)),
		fmt.Sprintf("With %d traced runs (%d for abn-three) the error is about %s: performance-pass's oracle, at %s, %s, %s on %s, %s and %s runs", defaultETARuns, defaultHeavyRuns, mc(defaultETARuns), perf[0], perf[1], perf[2], perfRuns[0], perfRuns[1], perfRuns[2]),
	}
	requireQuotes(t, "../../docs/planning.md", "the seed-1 dumps", claims)
}
