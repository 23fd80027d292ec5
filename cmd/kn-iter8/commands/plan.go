package commands

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
)

// planFlags are the assumptions `kn iter8 plan` and `start --plan` take.
type planFlags struct {
	rate       float64
	window     time.Duration
	baseline   map[string]string
	values     map[string]string
	effect     float64
	margin     float64
	cv         float64
	seed       uint64
	prometheus string
	lookback   time.Duration
}

func (f *planFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.Float64Var(&f.rate, "rate", 0, "the Service's requests per second (default: read from Prometheus)")
	fs.DurationVar(&f.window, "window", plan.DefaultWindow, "length of one metrics window (the collector's tick)")
	fs.StringToStringVar(&f.baseline, "baseline", nil, "the baseline's value of a metric, METRIC=VALUE (ratio, mean or the metric's quantile); overrides Prometheus")
	fs.StringToStringVar(&f.values, "value", nil, "a candidate's assumed value, VERSION.METRIC=VALUE (default: the baseline's, the first candidate's reward better by --effect)")
	fs.Float64Var(&f.effect, "effect", plan.DefaultEffect, "smallest relative change of the reward worth detecting")
	fs.Float64Var(&f.margin, "margin", plan.DefaultMargin, "how far past its limit, relative to it, a bad candidate is")
	fs.Float64Var(&f.cv, "cv", plan.DefaultCV, "coefficient of variation of mean and quantile metrics not read from Prometheus")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the simulation; the same inputs and seed give the same plan")
	fs.StringVar(&f.prometheus, "prometheus", "", "Prometheus URL to read the baseline's rate and metrics from (default $"+collector.EnvURL+")")
	fs.DurationVar(&f.lookback, "lookback", time.Hour, "how much recent data Prometheus is read for")
}

func newPlanCmd(e *env, kf *kubeFlags) *cobra.Command {
	var (
		file, output string
		pf           planFlags
	)
	cmd := &cobra.Command{
		Use:   "plan SERVICE -f experiment.yaml",
		Short: "Plan an experiment: how long it will take, how likely it decides in time, and what a bad candidate costs",
		Long: `Plan an experiment before starting it.

Runs iter8's real engine in the simulator, many times, on traffic drawn from
assumptions: the Service's request rate and the baseline's metric values,
read from Prometheus (--prometheus or $` + collector.EnvURL + `) through the
collector's own queries, else from --rate and --baseline; the candidates'
values (--value), by default the baseline's with the first candidate's reward
better by --effect; and a candidate past each SLO by --margin, to measure how
much traffic a bad version would see. For a canary it also reads the
Service's past canaries (its iter8.dev/past annotation) and adds the outlook:
what the canary will likely do if its candidate is like one of them.
Deterministic for a given --seed; the table reports the Monte Carlo error.
docs/planning.md explains the method and how accurate it has been measured
to be.`,
		Example: `  kn iter8 plan shop -f abn.yaml --rate 20 --baseline conversion=0.1,errors=0.002,latency=60
  kn iter8 plan shop -f canary.yaml --prometheus http://prometheus.monitoring:9090 -o json`,
		Args: serviceArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usagef("'%s' requires the experiment spec: -f FILE (or -f - for standard input)", cmd.CommandPath())
			}
			if output != outputTable && output != outputJSON {
				return usagef("unknown output format %q: use table or json", output)
			}
			spec, err := readSpec(e, file)
			if err != nil {
				return err
			}
			ctx, tg := cmd.Context(), e.target(kf)
			p, err := pf.plan(ctx, e, tg.ns, args[0], spec, pastCanaries(ctx, e, tg, args[0], spec))
			if err != nil {
				return err
			}
			return writeOutput(e.stdout, output, p, func(w io.Writer) error { return present.WritePlan(w, p) })
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", `experiment spec, YAML or JSON ("-" for standard input)`)
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table or json")
	pf.register(cmd)
	return cmd
}

// plan gathers the assumptions and plans spec for the Service ns/name:
// Prometheus is read in ns, and past are the Service's past canaries, from
// which a canary's plan adds its outlook (pastCanaries, pastFor).
func (f *planFlags) plan(ctx context.Context, e *env, ns, name string, spec events.ExperimentSpec, past []experiment.Past) (plan.Plan, error) {
	a := plan.Assumptions{Rate: f.rate, Window: f.window, Effect: f.effect, Margin: f.margin, CV: f.cv,
		Values: map[string]map[string]float64{}, Past: past}
	if err := f.observe(ctx, e, ns, name, spec, &a); err != nil {
		fmt.Fprintf(e.stderr, "Warning: not reading Prometheus: %v\n", err)
	}
	if a.Rate <= 0 {
		return plan.Plan{}, usagef("no request rate: pass --rate REQUESTS_PER_SECOND (or let Prometheus be read with --prometheus URL)")
	}
	for m, v := range f.baseline {
		if err := setValue(a.Values, spec, spec.Baseline, m, v); err != nil {
			return plan.Plan{}, usagef("--baseline %s=%s: %v", m, v, err)
		}
	}
	for k, v := range f.values {
		version, metric, ok := strings.Cut(k, ".")
		if !ok {
			return plan.Plan{}, usagef("--value %s=%s: want VERSION.METRIC=VALUE", k, v)
		}
		if err := setValue(a.Values, spec, version, metric, v); err != nil {
			return plan.Plan{}, usagef("--value %s=%s: %v", k, v, err)
		}
	}
	p, err := plan.Make(spec, a, plan.Options{Seed: f.seed})
	if err != nil {
		return plan.Plan{}, fmt.Errorf("planning %s/%s: %w", ns, name, err)
	}
	return p, nil
}

// pastCanaries is the past canaries of Service name in tg's namespace
// (its iter8.dev/past annotation) for a plan of spec; nil unless spec is a
// canary's, whose plan adds an outlook from them.
func pastCanaries(ctx context.Context, e *env, tg target, name string, spec events.ExperimentSpec) []experiment.Past {
	if spec.Kind != events.KindCanary || tg.err != nil {
		return pastFor(e, spec, store.Record{}, tg.err)
	}
	rec, err := store.New(tg.cl.serving).Get(ctx, tg.ns, name)
	if err != nil {
		err = fmt.Errorf("reading service %s/%s: %w", tg.ns, name, err)
	}
	return pastFor(e, spec, rec, err)
}

// pastFor is what a plan of spec takes from the Service's record rec, read
// with err: its past canaries, for a canary. A plan needs no cluster, so a
// cluster or Service that cannot be read, or an annotation that cannot,
// only warns: the plan is made without the past.
func pastFor(e *env, spec events.ExperimentSpec, rec store.Record, err error) []experiment.Past {
	if spec.Kind != events.KindCanary {
		return nil
	}
	const without = "Warning: the plan has no outlook from past canaries"
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", without, err)
		return nil
	}
	if rec.PastErr != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", without, rec.PastErr)
	}
	return rec.Past
}

// setValue sets values[version][metric] to v, refusing, by what the
// spec has, a version or metric that is not the spec's: a flag misspelt
// would otherwise fail later as the planner's internal path.
func setValue(values map[string]map[string]float64, spec events.ExperimentSpec, version, metric, v string) error {
	if vs := spec.Versions(); !slices.Contains(vs, version) {
		return fmt.Errorf("%q is not a version of the spec (its versions: %s)", version, strings.Join(vs, ", "))
	}
	var ms []string
	for _, m := range spec.Metrics {
		ms = append(ms, m.Name)
	}
	if !slices.Contains(ms, metric) {
		return fmt.Errorf("%q is not a metric of the spec (its metrics: %s)", metric, strings.Join(ms, ", "))
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("not a finite number")
	}
	if values[version] == nil {
		values[version] = map[string]float64{}
	}
	values[version][metric] = x
	return nil
}

// observe reads the baseline's last lookback from Prometheus through the
// collector, as one window: its request rate (unless --rate is given) and
// every metric's data. Without a Prometheus URL it does nothing.
func (f *planFlags) observe(ctx context.Context, e *env, ns, name string, spec events.ExperimentSpec, a *plan.Assumptions) error {
	to := e.now()
	data, err := e.readBaseline(ctx, prometheusLookup(f.prometheus), ns, name, spec, to.Add(-f.lookback), to)
	if err != nil || data == nil {
		return err
	}
	a.Observed = data
	n := 0.0
	for _, m := range spec.Defaulted().Metrics {
		if d, ok := data[m.Name]; ok {
			n = math.Max(n, d.Samples(experiment.KindOf(m.Type)))
		}
	}
	if a.Rate <= 0 && n > 0 {
		a.Rate = n / f.lookback.Seconds()
		fmt.Fprintf(e.stderr, "Rate from Prometheus: %.4g requests/s to %s over the last %s\n", a.Rate, spec.Baseline, f.lookback)
	}
	return nil
}
