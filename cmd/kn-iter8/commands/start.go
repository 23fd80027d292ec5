package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
)

func newStartCmd(e *env, kf *kubeFlags) *cobra.Command {
	var (
		file     string
		sf       sendFlags
		withPlan bool
		pf       planFlags
	)
	cmd := &cobra.Command{
		Use:   "start SERVICE -f experiment.yaml",
		Short: "Check an experiment spec and start it on a Service",
		Long: `Check an experiment spec and start it on a Service.

The spec is parsed, defaulted and validated with the same code as iter8's
functions, so every mistake is reported here, with its field path, before
anything is sent. The Service must be labelled iter8.dev/enabled=true and its
versions must be its revisions. The start event goes to the iter8 broker found
in the cluster, or to --sink; without either, the equivalent curl command is
printed.`,
		Example: `  kn iter8 start shop -f canary.yaml
  kn iter8 start shop -f - < canary.yaml
  kn iter8 start shop -f canary.yaml --plan --rate 20 --baseline errors=0.002,latency=60
  kn iter8 start shop -f canary.yaml --sink http://localhost:8080/iter8-system/iter8`,
		Args: serviceArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usagef("'%s' requires the experiment spec: -f FILE (or -f - for standard input)", cmd.CommandPath())
			}
			spec, err := readSpec(e, file)
			if err != nil {
				return err
			}
			for _, note := range spec.Defaulted().Decidability() {
				fmt.Fprintf(e.stderr, "Warning: %s: the histogram can only show the quantile below or above a bucket bound, so this limit is decided only when the quantile lies outside that bucket\n", note)
			}
			ctx := cmd.Context()
			tg := e.target(kf)
			cl := tg.cl
			// The Service is checked first, so that a start the function
			// would refuse fails before the plan's seconds, and its record
			// gives the plan the past canaries.
			var rec store.Record
			if tg.err == nil {
				if rec, err = checkTarget(ctx, e, cl, args[0], spec); err != nil {
					return err
				}
			} else {
				if sf.sink == "" && !sf.dryRun {
					return tg.err
				}
				fmt.Fprintf(e.stderr, "Warning: not checking the Service against the cluster: %v\n", tg.err)
			}
			if withPlan {
				// Nothing is sent until the plan is printed.
				p, err := pf.plan(ctx, e, tg.ns, args[0], spec, pastFor(e, spec, rec, tg.err))
				if err != nil {
					return err
				}
				if err := present.WritePlan(e.stdout, p); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout)
			}
			ev, err := events.New(events.TypeExperimentStart, source, events.Subject(tg.ns, args[0]), e.now(), spec)
			if err != nil {
				return err
			}
			sent, err := deliver(ctx, e, kf, cl, sf, ev)
			if err != nil {
				return err
			}
			if sent {
				fmt.Fprintf(e.stdout, "Follow it with: kn iter8 watch %s%s\n", args[0], nsFlag(kf))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", `experiment spec, YAML or JSON ("-" for standard input)`)
	sf.register(cmd)
	cmd.Flags().BoolVar(&withPlan, "plan", false, "print the plan (as kn iter8 plan, with its flags) before sending anything")
	pf.register(cmd)
	return cmd
}

func nsFlag(kf *kubeFlags) string {
	if kf.namespace == "" {
		return ""
	}
	return " -n " + kf.namespace
}

// readSpec parses, defaults and validates the spec in file. The spec is
// returned as written: the function applies the defaults itself, and what
// is sent is what the user wrote.
func readSpec(e *env, file string) (events.ExperimentSpec, error) {
	var (
		b   []byte
		err error
	)
	if file == "-" {
		b, err = io.ReadAll(e.stdin)
		file = "standard input"
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return events.ExperimentSpec{}, fmt.Errorf("reading the experiment spec: %w", err)
	}
	spec, err := events.ParseSpec(b)
	if err == nil {
		err = spec.Defaulted().Validate()
	}
	if err != nil {
		return events.ExperimentSpec{}, specError(file, err)
	}
	return spec, nil
}

// specError lists every field error on its own line.
func specError(file string, err error) error {
	fe := events.FieldErrorsOf(err)
	if len(fe) == 0 {
		return fmt.Errorf("%s: %w", file, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s is not a valid experiment (%d problem", file, len(fe))
	if len(fe) > 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, f := range fe {
		b.WriteString("\n  " + f.Error())
	}
	return errors.New(b.String())
}

// checkTarget refuses, before sending, what the function would refuse: a
// Service that is missing or has not opted in, one already running an
// experiment, and versions that are not its revisions. A revision still
// becoming Ready only warns: the function retries until it is. It returns
// the Service's record, which start --plan takes the past canaries from.
func checkTarget(ctx context.Context, e *env, cl *clients, name string, spec events.ExperimentSpec) (store.Record, error) {
	ns := cl.namespace
	s := store.New(cl.serving)
	rec, err := s.Get(ctx, ns, name)
	switch {
	case apierrors.IsNotFound(err):
		return store.Record{}, fmt.Errorf("service %s/%s not found", ns, name)
	case err != nil:
		return store.Record{}, fmt.Errorf("reading service %s/%s: %w", ns, name, err)
	}
	if rec.Service.Labels[store.LabelEnabled] != "true" {
		return store.Record{}, fmt.Errorf("service %s/%s has not opted in to iter8; label it first:\n  kn service update %s -n %s --label %s=true",
			ns, name, name, ns, store.LabelEnabled)
	}
	if rec.State != nil && (rec.State.Phase == experiment.PhaseRunning || rec.State.Phase == experiment.PhasePaused) {
		return store.Record{}, fmt.Errorf("service %s/%s already runs experiment %s (%s); abort it first with: kn iter8 abort %s -n %s",
			ns, name, rec.State.ID, rec.State.Phase, name, ns)
	}
	if err := s.CheckRevisions(ctx, ns, name, spec.Versions()); err != nil {
		if events.IsPermanent(err) {
			return store.Record{}, err
		}
		fmt.Fprintf(e.stderr, "Warning: %v; iter8 will retry until it is.\n", err)
	}
	return rec, nil
}
