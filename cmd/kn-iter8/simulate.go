package main

import (
	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/cmd/internal/simulatecli"
)

// newSimulateCmd is `kn iter8 simulate`: the engine, in process, on
// synthetic traffic drawn from a scenario file (see test/scenarios/README.md
// for the format and the JSON it prints). It needs no cluster.
func newSimulateCmd() *cobra.Command {
	var o simulatecli.Options
	cmd := &cobra.Command{
		Use:   "simulate " + simulatecli.Usage,
		Short: "Simulate an experiment scenario and report decision quality",
		Long:  simulatecli.Long,
		Example: `  kn iter8 simulate --scenario ab-conversion --runs 200 --seed 1 -o json
  kn iter8 simulate --scenario canary-bad-errors.yaml --all-policies`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return usagef("%s: %w", cmd.CommandPath(), err)
			}
			return o.Run(cmd.OutOrStdout())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
