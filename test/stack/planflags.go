package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// PlanFlags are `kn iter8 plan`'s assumptions for x's scenario, as a user
// who knows its truths would type them: its rate (requests a one-minute
// window, per second) and every version's true metric values to four
// significant digits, the baseline's with --baseline and each
// candidate's with --value.
func (x Experiment) PlanFlags() []string {
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

// SpecFile writes spec as JSON to a new file in dir ("" for the system's
// temporary directory), named by pattern as os.CreateTemp names it, for
// `kn iter8 -f`; the caller removes it.
func SpecFile(dir, pattern string, spec events.ExperimentSpec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}
