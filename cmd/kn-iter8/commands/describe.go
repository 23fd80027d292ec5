package commands

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/pkg/present"
)

func newDescribeCmd(e *env, kf *kubeFlags) *cobra.Command {
	var (
		output string
		noETA  bool
		ef     etaFlags
	)
	cmd := &cobra.Command{
		Use:   "describe SERVICE",
		Short: "Show an experiment: every version's posteriors, probabilities and verdicts, and the next decision",
		Example: `  kn iter8 describe shop
  kn iter8 describe shop -n shop-prod -o json`,
		Args: serviceArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cl, err := e.clients(kf)
			if err != nil {
				return err
			}
			_, in, err := loadExperiment(cmd.Context(), cl, kf, args[0], e.stderr)
			if err != nil {
				return err
			}
			if !noETA {
				in = (*etaCache)(nil).withETA(cmd.Context(), e, ef, in)
			}
			d := present.Describe(in, e.now())
			return writeOutput(e.stdout, output, d, func(w io.Writer) error { return present.WriteDescription(w, d) })
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	cmd.Flags().BoolVar(&noETA, "no-eta", false, "skip the ETA (a second or so of simulation for a running experiment)")
	ef.register(cmd)
	return cmd
}
