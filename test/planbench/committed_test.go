package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

// poolDir is PoolDir from this package's directory, where tests run.
var poolDir = strings.TrimPrefix(PoolDir, "test/planbench/")

// regenerate is what a failure here asks for.
const regenerate = "`make bench-eta-pool` traces the dumps again and re-tables the docs from them"

// committedDumps are poolDir's dumps in make bench-eta-pool's order: the
// bad canary's, the good canary's, then the other scenarios', each kind by
// seed.
func committedDumps(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, kind := range []string{"bad", "good", "rest"} {
		found, err := filepath.Glob(filepath.Join(poolDir, kind+"*.json"))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(found, func(a, b string) int { return seedOf(t, a) - seedOf(t, b) })
		files = append(files, found...)
	}
	if len(files) < 3 {
		t.Fatalf("%d dumps in %s, want a bad, a good and a rest dump of each seed: %s", len(files), poolDir, regenerate)
	}
	return files
}

// seedOf is the seed in a dump's name, as make bench-eta-pool names them
// (bad3.json: seed 3).
func seedOf(t *testing.T, file string) int {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	seed, err := strconv.Atoi(strings.TrimLeft(name, "abcdefghijklmnopqrstuvwxyz"))
	if err != nil {
		t.Fatalf("dump %s: want a name like bad3.json: %v", file, err)
	}
	return seed
}

// The pooled sections of docs/planning.md and docs/benchmarks.md are what
// -pool makes of the committed dumps: no hand edit, and no table left from
// dumps that were traced again.
func TestPooledDocsAreTheCommittedDumps(t *testing.T) {
	md, summary, err := pooledSections(committedDumps(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ doc, section, want string }{
		{"../../docs/planning.md", "pool", md},
		{"../../docs/benchmarks.md", "pool-summary", summary},
	} {
		raw, err := os.ReadFile(c.doc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := gendoc.Section(string(raw), c.section)
		if err != nil {
			t.Fatalf("%s: %v", c.doc, err)
		}
		if diff := cmp.Diff(strings.TrimRight(c.want, "\n")+"\n", got); diff != "" {
			t.Errorf("%s's %q section is not what the dumps in %s pool into (-dumps +doc); %s:\n%s", c.doc, c.section, poolDir, regenerate, diff)
		}
	}
}

// The committed dumps are what this code traces: the first traced run of
// every kind (a bad and a good canary, an A/B, an A/B/n and a performance
// test, from dumps of several seeds), run again with the real engine and
// estimated again by the ETA shown, the point estimates and the oracle,
// gives the dumps' ratios and forward runs at 25%, 50% and 75% of its own
// duration exactly (every run and every ETA is seeded). A change to the engine, the
// simulator or the ETA that moves them leaves the docs' pooled figures
// stale until the dumps are traced again.
func TestCommittedDumpsAreThisCode(t *testing.T) {
	all, err := loadScenarios("../scenarios", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dump, scenario string }{
		{"bad1.json", "canary-bad-errors"},
		{"good1.json", "canary-good"},
		{"rest1.json", "ab-conversion"},
		{"rest2.json", "abn-three"},
		{"rest3.json", "performance-pass"},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			seed := uint64(seedOf(t, c.dump))
			dump, err := readDump(filepath.Join(poolDir, c.dump))
			if err != nil {
				t.Fatalf("%v: %s", err, regenerate)
			}
			want, ok := dump[c.scenario]
			if !ok || want.Used == 0 {
				t.Fatalf("%s holds no used run of %s: %s", c.dump, c.scenario, regenerate)
			}
			i := slices.IndexFunc(all, func(s simulate.Scenario) bool { return s.Name == c.scenario })
			if i < 0 {
				t.Fatalf("no scenario %s in test/scenarios", c.scenario)
			}
			s := all[i]
			// The scenario alone: no known truths, and no past canaries
			// to run to their ends, which the three estimators checked
			// do not use.
			ests, err := estimators(s, []simulate.Scenario{s}, defaultForward, seed)
			if err != nil {
				t.Fatal(err)
			}
			ests = slices.DeleteFunc(ests, func(e plan.ETAEstimator) bool {
				return !slices.Contains([]string{plan.Shown, pointEstimates, plan.Oracle}, e.Name)
			})
			got, err := plan.ETAAccuracy(s, want.Refine, 1, seed+10, ests)
			if err != nil {
				t.Fatal(err)
			}
			// The first run is used alone only if it was used among all:
			// whether a run is used is its own outcome and length.
			if got.Used != 1 || got.Durations[0] != want.Durations[0] {
				t.Fatalf("the first traced run of %s now lasts %v windows (used: %d); %s says %v: %s", c.scenario, got.Durations, got.Used, c.dump, want.Durations[:1], regenerate)
			}
			for _, e := range got.Estimators {
				k := slices.IndexFunc(want.Estimators, func(w plan.ETAEstimates) bool { return w.Name == e.Name })
				if k < 0 {
					t.Fatalf("%s has no %s estimator: %s", c.dump, e.Name, regenerate)
				}
				var now, then []firstRun
				for j, pt := range e.Own {
					now, then = append(now, firstOf(pt)), append(then, firstOf(want.Estimators[k].Own[j]))
				}
				if diff := cmp.Diff(then, now); diff != "" {
					t.Errorf("%s, %s: the first run at 25%%, 50%% and 75%% of its duration (-%s +now): %s:\n%s", c.scenario, e.Name, c.dump, regenerate, diff)
				}
			}
		})
	}
}

// firstRun is what an ETA point holds of a dump's first used run: its
// ratio rests on a whole number of windows and may survive a change that
// moves the forward runs, which are compared too.
type firstRun struct {
	Ratio, Served, Actual float64
	Forward               []float64
}

func firstOf(pt plan.ETAPoint) firstRun {
	return firstRun{pt.Ratios[0], pt.Served[0], pt.Actuals[0], pt.Forwards[0]}
}

// make bench-eta-pool writes its dumps where the tests read them.
func TestMakefileWritesThePoolDir(t *testing.T) {
	raw, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if want := "ETA_POOL := " + PoolDir + "\n"; !strings.Contains(string(raw), want) {
		t.Errorf("the Makefile does not set %q: make bench-eta-pool would write dumps the tests do not read", strings.TrimSpace(want))
	}
}
