package commands

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/pkg/report"
)

// outputHTML is report's only output format.
const outputHTML = "html"

func newReportCmd(e *env, kf *kubeFlags) *cobra.Command {
	var (
		file, format string
		ef           etaFlags
	)
	cmd := &cobra.Command{
		Use:   "report SERVICE [--output-file FILE]",
		Short: "Write a self-contained HTML report with posterior, traffic and win-probability plots",
		Long: `Write a self-contained HTML report with posterior, traffic and win-probability plots.

As everywhere in kn, -o names the output format (here only html); the file
is --output-file.`,
		Example: `  kn iter8 report shop --output-file shop.html
  kn iter8 report shop --output-file - > shop.html`,
		Args: serviceArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != outputHTML {
				return usagef("unknown output format %q: report writes html; name the file with --output-file %s", format, format)
			}
			if file == "" {
				file = args[0] + "-report.html"
			}
			cl, err := e.clients(kf)
			if err != nil {
				return err
			}
			_, in, err := loadExperiment(cmd.Context(), cl, kf, args[0], e.stderr)
			if err != nil {
				return err
			}
			in = (*etaCache)(nil).withETA(cmd.Context(), e, ef, in)
			page, err := report.Render(in, e.now())
			if err != nil {
				return err
			}
			if file == "-" {
				_, err := e.stdout.Write(page)
				return err
			}
			if err := os.WriteFile(file, page, 0o644); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			fmt.Fprintf(e.stdout, "Report on %s/%s written to %s (%d KiB).\n", in.Namespace, in.Service, file, (len(page)+1023)/1024)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "output-file", "", `file to write, "-" for standard output (default "SERVICE-report.html")`)
	cmd.Flags().StringVarP(&format, "output", "o", outputHTML, "output format: html")
	ef.register(cmd)
	return cmd
}
