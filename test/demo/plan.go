package main

import (
	"fmt"
	"os"
	"time"

	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/stack"
)

// etaText is the ETA of a status line: a short forward simulation of the
// experiment's state (fewer runs than the plugin's, to keep the demo
// brisk), or "" when there is none yet. When the forward runs split
// between outcomes (a canary that may yet be rolled back), the likely
// ones follow with their own times, as on describe's ETA line.
func etaText(rec store.Record) string {
	if rec.Spec == nil || rec.State == nil {
		return ""
	}
	e, err := plan.Estimate(*rec.Spec, *rec.State, plan.ETAOptions{Runs: 30, Budget: 600})
	if err != nil {
		return ""
	}
	split := ""
	if o := present.ETAOutcomes(e); o != "" {
		split = "; " + o
	}
	return fmt.Sprintf(" · ETA ~%s (median %s; 10–90%%: %s–%s%s)", dur(e.Point), dur(e.Median), dur(e.P10), dur(e.P90), split)
}

func dur(s float64) string {
	return present.Duration(time.Duration(s * float64(time.Second)))
}

// showPlan prints `kn iter8 plan` for x, for the path where the demo
// starts the experiment without `kn iter8 start --plan`.
func showPlan(plugin func(args ...string) (string, error), x stack.Experiment) error {
	file, err := specFile(x.Spec())
	if err != nil {
		return err
	}
	defer os.Remove(file)
	show(plugin(append([]string{"plan", x.Service, "-n", x.Namespace, "-f", file}, x.PlanFlags()...)...))
	return nil
}
