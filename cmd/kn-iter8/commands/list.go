package commands

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
)

// phases are the values of the iter8.dev/experiment-phase label.
var phases = []string{"running", "paused", "completed", "failed"}

func newListCmd(e *env, kf *kubeFlags) *cobra.Command {
	var (
		output        string
		allNamespaces bool
		phaseFilter   []string
	)
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List experiments, running ones first",
		Example: `  kn iter8 list
  kn iter8 list -A --phase running,paused`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if allNamespaces && kf.namespace != "" {
				return usagef("--all-namespaces and --namespace exclude each other")
			}
			selector, err := phaseSelector(phaseFilter)
			if err != nil {
				return err
			}
			cl, err := e.clients(kf)
			if err != nil {
				return err
			}
			ns := cl.namespace
			if allNamespaces {
				ns = ""
			}
			recs, err := store.New(cl.serving).List(cmd.Context(), ns, selector)
			if err != nil {
				return fmt.Errorf("listing experiments: %w", err)
			}
			var ins []present.Input
			for _, r := range recs {
				if r.Spec != nil {
					ins = append(ins, inputOf(r, e.stderr))
				}
			}
			rows := present.List(ins, e.now())
			if rows == nil {
				rows = []present.ListRow{}
			}
			return writeOutput(e.stdout, output, rows, func(w io.Writer) error {
				if len(rows) == 0 {
					where := "namespace " + ns
					if allNamespaces {
						where = "any namespace"
					}
					_, err := fmt.Fprintf(w, "No experiments found in %s.\n", where)
					return err
				}
				return present.WriteList(w, rows, allNamespaces)
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	f.BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list experiments in every namespace")
	f.StringSliceVar(&phaseFilter, "phase", nil, "only these phases: "+strings.Join(phases, ", "))
	return cmd
}

// phaseSelector selects Services that carry an experiment, in the given
// phases when any are named.
func phaseSelector(filter []string) (string, error) {
	if len(filter) == 0 {
		return store.LabelPhase, nil
	}
	var want []string
	for _, p := range filter {
		p = strings.ToLower(strings.TrimSpace(p))
		if !slices.Contains(phases, p) {
			return "", usagef("unknown phase %q: use %s", p, strings.Join(phases, ", "))
		}
		if !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	return fmt.Sprintf("%s in (%s)", store.LabelPhase, strings.Join(want, ",")), nil
}
