// Package simulatecli is the simulator's command line, shared by
// `kn iter8 simulate` (cmd/kn-iter8) and the standalone iter8-simulate: one
// flag set, its checks, where scenario files are looked up, and the run.
// pkg/simulate stays a library: it neither parses flags nor knows the
// repository's layout.
package simulatecli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/iter8-knative/iter8/pkg/simulate"
)

// EnvScenarios names the environment variable that points at a scenario
// directory.
const EnvScenarios = "ITER8_SCENARIOS"

// Usage is the arguments part of both binaries' usage line.
const Usage = "--scenario FILE [--runs N] [--seed S] [--policy NAME | --all-policies] [-o json|table]"

// Long is the help text both binaries show.
var Long = `Simulate an experiment scenario many times, in process, with iter8's real
engine (or a baseline policy) deciding on synthetic traffic drawn from the
scenario's true distributions, and report how often it decided correctly,
after how many requests, and how much traffic went to failing versions.
It needs no cluster.

--scenario takes a file, or the name of one in the scenario directory
(--scenarios-dir, else $` + EnvScenarios + `, else ../shared/scenarios beside the
repository, else test/scenarios). Policies: ` + strings.Join(simulate.Policies(), ", ") + `.
-o json prints one JSON object per policy, one per line.`

// Options are the simulate flags.
type Options struct {
	// Scenario is a file, or a name in ScenarioDir.
	Scenario    string
	ScenarioDir string
	Runs        int
	Seed        uint64
	// Policy is one of simulate.Policies(); ignored with AllPolicies.
	Policy      string
	AllPolicies bool
	// Output is "json" (one object per policy, one per line) or "table".
	Output  string
	Workers int
}

// AddFlags registers the flags on f, with their defaults.
func (o *Options) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Scenario, "scenario", "", "scenario file, or a scenario name in the scenario directory (required)")
	f.StringVar(&o.ScenarioDir, "scenarios-dir", "", "directory of scenario files (default $"+EnvScenarios+", else ../shared/scenarios, else test/scenarios)")
	f.IntVar(&o.Runs, "runs", 200, "independent runs")
	f.Uint64Var(&o.Seed, "seed", 1, "seed; run i uses a stream derived from (seed, i)")
	f.StringVar(&o.Policy, "policy", simulate.PolicyIter8, "decision policy: "+strings.Join(simulate.Policies(), ", "))
	f.BoolVar(&o.AllPolicies, "all-policies", false, "run every policy on the same scenario")
	f.StringVarP(&o.Output, "output", "o", "table", "output format: json or table")
	f.IntVar(&o.Workers, "workers", 0, "parallel runs (default GOMAXPROCS; results do not depend on it)")
}

// Validate reports a mistake in the flags: a usage error.
func (o Options) Validate() error {
	switch {
	case o.Scenario == "":
		return errors.New("--scenario FILE is required")
	case o.Output != "json" && o.Output != "table":
		return fmt.Errorf("unknown output format %q: use json or table", o.Output)
	case o.Runs < 1:
		return fmt.Errorf("--runs must be at least 1, got %d", o.Runs)
	}
	return nil
}

// Run simulates and writes the report to w. It looks a bare scenario name
// up in ScenarioDir(o.ScenarioDir or $ITER8_SCENARIOS, the working
// directory).
func (o Options) Run(w io.Writer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	dir := o.ScenarioDir
	if dir == "" {
		dir = os.Getenv(EnvScenarios)
	}
	path, err := simulate.ResolveScenario(o.Scenario, ScenarioDir(dir, cwd))
	if err != nil {
		return err
	}
	s, err := simulate.LoadScenario(path)
	if err != nil {
		return err
	}
	policies := []string{o.Policy}
	if o.AllPolicies {
		policies = simulate.Policies()
	}
	var reports []simulate.Report
	for _, p := range policies {
		r, err := simulate.Run(s, simulate.Options{Runs: o.Runs, Seed: o.Seed, Policy: p, Workers: o.Workers})
		if o.AllPolicies && errors.Is(err, simulate.ErrNotApplicable) {
			continue
		}
		if err != nil {
			return err
		}
		reports = append(reports, r)
		if o.Output == "json" {
			if err := simulate.WriteJSON(w, r); err != nil {
				return err
			}
		}
	}
	if o.Output == "table" {
		return simulate.WriteTable(w, reports)
	}
	return nil
}

// ScenarioDir is where bare scenario names are looked up: dir when set
// (from the flag or $ITER8_SCENARIOS), else ../shared/scenarios beside the
// repository holding cwd (where CI may check the shared set out), else the
// repository's own copy in test/scenarios.
func ScenarioDir(dir, cwd string) string {
	if dir != "" {
		return dir
	}
	root := repoRoot(cwd)
	if root == "" {
		return filepath.Join(cwd, "test", "scenarios")
	}
	shared := filepath.Join(root, "..", "shared", "scenarios")
	if fi, err := os.Stat(shared); err == nil && fi.IsDir() {
		return filepath.Clean(shared)
	}
	return filepath.Join(root, "test", "scenarios")
}

// repoRoot is the nearest directory at or above dir holding go.mod; ""
// when there is none.
func repoRoot(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
