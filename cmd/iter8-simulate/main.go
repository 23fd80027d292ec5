// Command iter8-simulate is `kn iter8 simulate` as a standalone binary,
// for machines without kn: it runs iter8's engine, or a baseline policy, on
// synthetic traffic drawn from a scenario file and prints the report. See
// pkg/simulate and test/scenarios/README.md.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/pkg/simulate"
)

func main() {
	if err := newCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newCmd() *cobra.Command {
	c := simulate.Command{}
	cmd := &cobra.Command{
		Use:           "iter8-simulate --scenario FILE [--runs N] [--seed S] [--policy NAME | --all-policies] [-o json|table]",
		Short:         "Simulate an experiment scenario and report decision quality (kn iter8 simulate, standalone)",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			dir := c.ScenarioDir
			if dir == "" {
				dir = os.Getenv(simulate.EnvScenarios)
			}
			c.ScenarioDir = simulate.ScenarioDir(dir, cwd)
			return c.Execute(cmd.OutOrStdout())
		},
	}
	policies := strings.Join(simulate.Policies(), ", ")
	f := cmd.Flags()
	f.StringVar(&c.Scenario, "scenario", "", "scenario file, or a scenario name in the scenario directory (required)")
	f.StringVar(&c.ScenarioDir, "scenarios-dir", "", "directory of scenario files (default $"+simulate.EnvScenarios+", else ../shared/scenarios, else test/scenarios)")
	f.IntVar(&c.Runs, "runs", 200, "independent runs")
	f.Uint64Var(&c.Seed, "seed", 1, "seed; run i uses a stream derived from (seed, i)")
	f.StringVar(&c.Policy, "policy", simulate.PolicyIter8, "decision policy: "+policies)
	f.BoolVar(&c.AllPolicies, "all-policies", false, "run every policy on the same scenario")
	f.StringVarP(&c.Output, "output", "o", "table", "output format: json or table")
	f.IntVar(&c.Workers, "workers", 0, "parallel runs (default GOMAXPROCS; results do not depend on it)")
	_ = cmd.MarkFlagRequired("scenario")
	return cmd
}
