package commands

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

type controlAction struct {
	name, short string
	// takesVersion is true for promote, which needs one.
	takesVersion bool
}

var controlActions = []controlAction{
	{events.ActionPause, "Freeze an experiment's traffic; data is still assessed, nothing is decided", false},
	{events.ActionResume, "Let a paused experiment decide again", false},
	{events.ActionAbort, "End an experiment now, applying its onFailure (rollback by default)", false},
	{events.ActionPromote, "End an experiment now, sending all traffic to VERSION", true},
}

func newControlCmd(e *env, kf *kubeFlags, a controlAction) *cobra.Command {
	var (
		reason string
		sf     sendFlags
	)
	use := a.name + " SERVICE"
	example := fmt.Sprintf("  kn iter8 %s shop --reason \"checking a dashboard\"", a.name)
	if a.takesVersion {
		use += " VERSION"
		example = "  kn iter8 promote shop shop-v2\n  kn iter8 promote shop v2    # a revision's tag works too"
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   a.short,
		Example: example,
		Args: func(cmd *cobra.Command, args []string) error {
			want := 1
			if a.takesVersion {
				want = 2
			}
			if len(args) != want {
				return usagef("'%s' takes %s, got %d argument(s)", cmd.CommandPath(), strings.TrimPrefix(use, a.name+" "), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name, version := args[0], ""
			if a.takesVersion {
				version = args[1]
			}
			ctx := cmd.Context()
			tg := e.target(kf)
			cl := tg.cl
			if tg.err == nil {
				_, in, err := loadExperiment(ctx, cl, kf, name, e.stderr)
				if err != nil {
					return err
				}
				if version, err = checkControl(in.State, a.name, name, version); err != nil {
					return err
				}
			} else {
				if sf.sink == "" && !sf.dryRun {
					return tg.err
				}
				fmt.Fprintf(e.stderr, "Warning: not checking the experiment against the cluster: %v\n", tg.err)
			}
			c, err := events.NewControl(a.name, version, reason)
			if err != nil {
				return usageError{err}
			}
			ev, err := events.New(events.TypeExperimentControl, source, events.Subject(tg.ns, name), e.now(), c)
			if err != nil {
				return err
			}
			_, err = deliver(ctx, e, kf, cl, sf, ev)
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the experiment's reason")
	sf.register(cmd)
	return cmd
}

// checkControl refuses what the engine would refuse, and resolves a
// promoted version given by its traffic tag ("v2" for shop-v2).
func checkControl(st experiment.State, action, service, version string) (string, error) {
	if st.Phase != experiment.PhaseRunning && st.Phase != experiment.PhasePaused {
		return "", fmt.Errorf("experiment %s on %s is %s: there is nothing to %s", st.ID, service, st.Phase, action)
	}
	if version == "" || slices.Contains(st.Versions, version) {
		return version, nil
	}
	for _, v := range st.Versions {
		if store.Tag(service, v) == version {
			return v, nil
		}
	}
	return "", usagef("%q is not a version of the experiment on %s: its versions are %s",
		version, service, strings.Join(st.Versions, ", "))
}
