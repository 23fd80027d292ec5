package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/stack"
)

// planFlags are `kn iter8 plan`'s assumptions for the demo's scenario: its
// rate (requests a one-minute window) and every version's true metric
// values to four significant digits, as a user who knows them would type
// them.
func planFlags(x stack.Experiment) []string {
	scn := x.Scenario
	spec := scn.Experiment.Defaulted()
	value := func(v string, m events.MetricSpec) string { return fmt.Sprintf("%.4g", scn.Truth[v][m.Name].Value(m)) }
	args := []string{"--rate", fmt.Sprintf("%.4g", float64(scn.Traffic.RequestsPerInterval)/simulate.Interval.Seconds())}
	var base []string
	for _, m := range spec.Metrics {
		base = append(base, m.Name+"="+value(spec.Baseline, m))
	}
	args = append(args, "--baseline", strings.Join(base, ","))
	for _, c := range spec.Candidates {
		for _, m := range spec.Metrics {
			args = append(args, "--value", x.Revision(c)+"."+m.Name+"="+value(c, m))
		}
	}
	return args
}

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
	show(plugin(append([]string{"plan", x.Service, "-n", x.Namespace, "-f", file}, planFlags(x)...)...))
	return nil
}
