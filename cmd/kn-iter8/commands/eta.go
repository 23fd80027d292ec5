package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// etaFlags say where an ETA reads a canary baseline's history from.
type etaFlags struct {
	prometheus string
	lookback   time.Duration
}

func (f *etaFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.prometheus, "prometheus", "", "Prometheus URL to read a canary baseline's history before the start from, for the ETA (default $"+collector.EnvURL+"; none: the ETA uses the experiment's data alone)")
	cmd.Flags().DurationVar(&f.lookback, "lookback", time.Hour, "how much of the baseline's history before the start the ETA reads")
}

// prometheusLookup is the environment with a --prometheus URL, when
// given, in front of the collector's variables.
func prometheusLookup(url string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if k == collector.EnvURL && url != "" {
			return url, true
		}
		return os.LookupEnv(k)
	}
}

// readBaseline reads the baseline of spec on ns/name from Prometheus over
// [from, to] through the collector's queries, as one window: every metric's
// data by name. Metrics Prometheus has no data for are left out, each with
// a warning. Without a Prometheus URL it returns nil and no error.
func readBaseline(ctx context.Context, e *env, lookup func(string) (string, bool), ns, name string, spec events.ExperimentSpec, from, to time.Time) (map[string]stats.Data, error) {
	c, enabled, err := collector.FromEnv(lookup)
	if err != nil || !enabled {
		return nil, err
	}
	obs, missing, err := c.Collect(ctx, ns, name, spec, []string{spec.Baseline}, from, to)
	if err != nil {
		// The collector returns its errors marked with the HTTP status
		// the functions answer a delivery with ("transient error (HTTP
		// 503)"); a command's user needs only the cause.
		if se, ok := err.(*events.StatusError); ok {
			err = se.Err
		}
		return nil, fmt.Errorf("baseline %s of %s/%s: %w", spec.Baseline, ns, name, err)
	}
	for _, g := range missing {
		fmt.Fprintf(e.stderr, "Warning: Prometheus has no %s for %s: %s\n", g.Metric, g.Version, g.Reason)
	}
	data := map[string]stats.Data{}
	for _, m := range spec.Defaulted().Metrics {
		if o, ok := obs.Versions[spec.Baseline][m.Name]; ok {
			data[m.Name] = simulate.DataOf(o)
		}
	}
	return data, nil
}

// readBaseline is e.baseline, readBaseline by default.
func (e *env) readBaseline(ctx context.Context, lookup func(string) (string, bool), ns, name string, spec events.ExperimentSpec, from, to time.Time) (map[string]stats.Data, error) {
	if e.baseline != nil {
		return e.baseline(ctx, e, lookup, ns, name, spec, from, to)
	}
	return readBaseline(ctx, e, lookup, ns, name, spec, from, to)
}

// etaCache keeps the last ETA, so that a view redrawn without a new window
// does not simulate again: the ETA changes once a window. It keeps the
// baseline's history too, read once an experiment.
type etaCache struct {
	id        string
	iteration int
	eta       *plan.ETA
	// historyOf is the experiment whose baseline history was read (or
	// failed to be: it is not retried every window).
	historyOf string
	history   map[string]stats.Data
}

// withETA sets in.ETA for a Running experiment by simulating it forward
// (plan.Estimate); an experiment that cannot be continued yet (no window)
// shows none, and a failure only warns: the rest of the view stands. A
// canary's ETA borrows the baseline's history before the start from
// Prometheus when one is configured (plan.ETAOptions.Baseline), and takes
// the Service's past canaries as its candidate's prior
// (plan.ETAOptions.Past; none when the annotation was ignored, which
// describe reports).
func (c *etaCache) withETA(ctx context.Context, e *env, f etaFlags, in present.Input) present.Input {
	st := in.State
	if st.Phase != experiment.PhaseRunning {
		return in
	}
	if c == nil {
		c = &etaCache{}
	}
	if c.id == st.ID && c.iteration == st.Iteration {
		in.ETA = c.eta
		return in
	}
	o := e.eta
	if in.Spec.Kind == events.KindCanary {
		if c.historyOf != st.ID {
			h, err := e.readBaseline(ctx, prometheusLookup(f.prometheus), in.Namespace, in.Service, in.Spec, st.Started.Add(-f.lookback), st.Started.Time)
			if err != nil {
				fmt.Fprintf(e.stderr, "Warning: the ETA does not use the baseline's history: %v\n", err)
			}
			c.historyOf, c.history = st.ID, h
		}
		o.Baseline = c.history
		o.Past = in.Past
	}
	eta, err := plan.Estimate(in.Spec, st, o)
	switch {
	case errors.Is(err, plan.ErrNoETA):
	case err != nil:
		fmt.Fprintf(e.stderr, "Warning: no ETA for %s/%s: %v\n", in.Namespace, in.Service, err)
	default:
		in.ETA = &eta
	}
	c.id, c.iteration, c.eta = st.ID, st.Iteration, in.ETA
	return in
}
