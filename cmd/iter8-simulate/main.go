// Command iter8-simulate is `kn iter8 simulate` as a standalone binary,
// for machines without kn: it runs iter8's engine, or a baseline policy, on
// synthetic traffic drawn from a scenario file and prints the report. See
// pkg/simulate and test/scenarios/README.md; the flags are
// cmd/internal/simulatecli's, the same as the kn plugin's.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/cmd/internal/simulatecli"
)

func main() {
	if err := newCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newCmd() *cobra.Command {
	var o simulatecli.Options
	cmd := &cobra.Command{
		Use:           "iter8-simulate " + simulatecli.Usage,
		Short:         "Simulate an experiment scenario and report decision quality (kn iter8 simulate, standalone)",
		Long:          simulatecli.Long,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.Run(cmd.OutOrStdout())
		},
	}
	o.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("scenario")
	return cmd
}
