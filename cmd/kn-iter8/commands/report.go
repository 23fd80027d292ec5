package commands

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/pkg/report"
)

func newReportCmd(e *env, kf *kubeFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "report SERVICE",
		Short: "Write a self-contained HTML report with posterior, traffic and win-probability plots",
		Example: `  kn iter8 report shop -o shop.html
  kn iter8 report shop -o - > shop.html`,
		Args: serviceArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				output = args[0] + "-report.html"
			}
			cl, err := e.clients(kf)
			if err != nil {
				return err
			}
			_, in, err := loadExperiment(cmd.Context(), cl, kf, args[0], e.stderr)
			if err != nil {
				return err
			}
			page, err := report.Render(in, e.now())
			if err != nil {
				return err
			}
			if output == "-" {
				_, err := e.stdout.Write(page)
				return err
			}
			if err := os.WriteFile(output, page, 0o644); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			fmt.Fprintf(e.stdout, "Report on %s/%s written to %s (%d KiB).\n", in.Namespace, in.Service, output, (len(page)+1023)/1024)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", `file to write, "-" for standard output (default "SERVICE-report.html")`)
	return cmd
}
