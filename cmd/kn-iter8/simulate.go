package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/pkg/simulate"
)

// newSimulateCmd is `kn iter8 simulate`: the engine, in process, on
// synthetic traffic drawn from a scenario file (see test/scenarios/README.md
// for the format and the JSON it prints). It needs no cluster.
func newSimulateCmd() *cobra.Command {
	c := simulate.Command{}
	cmd := &cobra.Command{
		Use:   "simulate --scenario FILE [--runs N] [--seed S] [--policy NAME | --all-policies] [-o json|table]",
		Short: "Simulate an experiment scenario and report decision quality",
		Long: `Simulate an experiment scenario many times, in process, with iter8's real
engine (or a baseline policy) deciding on synthetic traffic drawn from the
scenario's true distributions, and report how often it decided correctly,
after how many requests, and how much traffic went to failing versions.

--scenario takes a file, or the name of one in the scenario directory
(--scenarios-dir, else $ITER8_SCENARIOS, else ../shared/scenarios beside the
repository, else test/scenarios). Policies: ` + strings.Join(simulate.Policies(), ", ") + `.
-o json prints one JSON object per policy, one per line.`,
		Example: `  kn iter8 simulate --scenario ab-conversion --runs 200 --seed 1 -o json
  kn iter8 simulate --scenario canary-bad-errors.yaml --all-policies`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case c.Scenario == "":
				return usagef("'%s' requires --scenario FILE", cmd.CommandPath())
			case c.Output != "json" && c.Output != "table":
				return usagef("unknown output format %q: use json or table", c.Output)
			case c.Runs < 1:
				return usagef("--runs must be at least 1, got %d", c.Runs)
			}
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			c.ScenarioDir = simulate.ScenarioDir(firstNonEmpty(c.ScenarioDir, os.Getenv(simulate.EnvScenarios)), cwd)
			return c.Execute(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Scenario, "scenario", "", "scenario file, or a scenario name in the scenario directory (required)")
	f.StringVar(&c.ScenarioDir, "scenarios-dir", "", "directory of scenario files (default $"+simulate.EnvScenarios+", else ../shared/scenarios, else test/scenarios)")
	f.IntVar(&c.Runs, "runs", 200, "independent runs")
	f.Uint64Var(&c.Seed, "seed", 1, "seed; run i uses a stream derived from (seed, i)")
	f.StringVar(&c.Policy, "policy", simulate.PolicyIter8, "decision policy: "+strings.Join(simulate.Policies(), ", "))
	f.BoolVar(&c.AllPolicies, "all-policies", false, "run every policy on the same scenario")
	f.StringVarP(&c.Output, "output", "o", "table", "output format: json or table")
	f.IntVar(&c.Workers, "workers", 0, "parallel runs (default GOMAXPROCS; results do not depend on it)")
	return cmd
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
