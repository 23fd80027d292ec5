package plan

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Defaults of the assumptions a user may leave out (docs/planning.md).
const (
	// DefaultEffect is the smallest relative change of the reward worth
	// detecting: 10% (a conversion of 10% against 11%).
	DefaultEffect = 0.10
	// DefaultMargin is how far past its limit a bad candidate is, relative
	// to the limit: 50% (an error rate of 1.5% against a 1% limit).
	DefaultMargin = 0.5
	// DefaultCV is the coefficient of variation of one request's value of
	// a mean or quantile metric when nothing was observed: 0.3 (a
	// lognormal latency with log-sd 0.29).
	DefaultCV = 0.3
	// DefaultWindow is the length of one metrics window: the collector's
	// PingSource ticks every minute.
	DefaultWindow = time.Minute
)

// ErrAssumptions is wrapped by every error about missing or impossible
// assumptions; the message names the metric or version.
var ErrAssumptions = errors.New("invalid planning assumptions")

// Assumptions are what a plan takes as known.
type Assumptions struct {
	// Rate is the Service's requests per second, all versions together.
	Rate float64
	// Window is the length of one metrics window; 0 means DefaultWindow.
	Window time.Duration
	// Observed is the baseline's recent data by metric name (from
	// Prometheus, through the collector): the point estimates and spreads
	// the baseline is simulated with.
	Observed map[string]stats.Data
	// Values sets metric values by version and metric name (Dist.Value: a
	// ratio, a mean, or the metric's quantile). The baseline's override
	// what was observed; a candidate's override the defaults below.
	Values map[string]map[string]float64
	// Effect is the smallest relative change of the reward worth
	// detecting: the first candidate's reward is the baseline's, better
	// by Effect, unless Values set it; other candidates equal the
	// baseline. 0 means DefaultEffect.
	Effect float64
	// Margin is how far past its limit, relative to it, the bad candidate
	// of the exposure cases is. 0 means DefaultMargin.
	Margin float64
	// CV is the coefficient of variation of mean and quantile metrics not
	// observed. 0 means DefaultCV.
	CV float64
	// Past are the Service's past canaries (its iter8.dev/past
	// annotation): a canary's plan adds the outlook of a candidate like
	// them (outlook.go). Ignored for other kinds.
	Past []experiment.Past
}

func (a Assumptions) defaulted() Assumptions {
	if a.Window <= 0 {
		a.Window = DefaultWindow
	}
	if a.Effect == 0 {
		a.Effect = DefaultEffect
	}
	if a.Margin == 0 {
		a.Margin = DefaultMargin
	}
	if a.CV == 0 {
		a.CV = DefaultCV
	}
	return a
}

func (a Assumptions) validate(spec events.ExperimentSpec) error {
	var errs events.FieldErrors
	if !(a.Rate > 0) || math.IsInf(a.Rate, 0) {
		errs.Add("rate", "must be > 0 requests per second, got %v", a.Rate)
	}
	if !(a.Effect > 0 && a.Effect < 1) {
		errs.Add("effect", "must be in (0, 1), got %v", a.Effect)
	}
	if !(a.Margin > 0 && a.Margin < 1) {
		errs.Add("margin", "must be in (0, 1), got %v", a.Margin)
	}
	if !(a.CV > 0) || math.IsInf(a.CV, 0) {
		errs.Add("cv", "must be > 0, got %v", a.CV)
	}
	versions := spec.Versions()
	for _, v := range slices.Sorted(maps.Keys(a.Values)) {
		if !slices.Contains(versions, v) {
			errs.Add(events.Key("values", v), "unknown version %q; the experiment's versions are %v", v, versions)
			continue
		}
		for _, m := range slices.Sorted(maps.Keys(a.Values[v])) {
			if metricOf(spec, m) == nil {
				errs.Add(events.Key(events.Key("values", v), m), "unknown metric %q", m)
			} else if x := a.Values[v][m]; math.IsNaN(x) || math.IsInf(x, 0) {
				errs.Add(events.Key(events.Key("values", v), m), "must be finite, got %v", x)
			}
		}
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrAssumptions, err)
	}
	return nil
}

func metricOf(spec events.ExperimentSpec, name string) *events.MetricSpec {
	for i := range spec.Metrics {
		if spec.Metrics[i].Name == name {
			return &spec.Metrics[i]
		}
	}
	return nil
}

// baseline is the baseline's distribution of every metric: observed data
// fitted, then moved to any value Values sets; a metric with neither is an
// error naming it.
func (a Assumptions) baseline(spec events.ExperimentSpec) (map[string]simulate.Dist, error) {
	out := map[string]simulate.Dist{}
	var missing []string
	for _, m := range spec.Metrics {
		v, set := a.Values[spec.Baseline][m.Name]
		d, ok := fit(m, a.Observed[m.Name], a.CV)
		switch {
		case ok && set:
			var err error
			if d, err = scaled(d, m, v); err != nil {
				return nil, fmt.Errorf("%w: baseline %s: %w", ErrAssumptions, spec.Baseline, err)
			}
		case set:
			d = assumed(m, v, a.CV)
		case !ok:
			missing = append(missing, m.Name)
			continue
		}
		out[m.Name] = d
	}
	if len(missing) > 0 {
		hint := "give each with --baseline METRIC=VALUE, or read them from Prometheus with --prometheus URL"
		if a.Observed != nil {
			hint = "Prometheus had no data for them; give each with --baseline METRIC=VALUE"
		}
		return nil, fmt.Errorf("%w: no value for the baseline's %v: %s", ErrAssumptions, missing, hint)
	}
	return out, nil
}

// truth is every version's distributions in the expected case: the
// baseline's; the first candidate's reward better by Effect; then Values.
func (a Assumptions) truth(spec events.ExperimentSpec) (map[string]map[string]simulate.Dist, error) {
	base, err := a.baseline(spec)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]simulate.Dist{spec.Baseline: base}
	for i, c := range spec.Candidates {
		out[c] = maps.Clone(base)
		if r := spec.Reward; r != nil && i == 0 {
			m := metricOf(spec, r.Metric)
			f := 1 + a.Effect
			if r.Direction == events.DirectionMinimize {
				f = 1 - a.Effect
			}
			if out[c][m.Name], err = scaled(base[m.Name], *m, base[m.Name].Value(*m)*f); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrAssumptions, c, err)
			}
		}
		for name, v := range a.Values[c] {
			m := metricOf(spec, name)
			if out[c][name], err = scaled(out[c][name], *m, v); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrAssumptions, c, err)
			}
		}
	}
	return out, nil
}

// badCase is the truth with version bad past objective k's limit by the
// margin: limit·(1+margin) for an upper limit, limit·(1−margin) for a
// lower one (a relative limit is resolved against the baseline first).
func (a Assumptions) badCase(spec events.ExperimentSpec, truth map[string]map[string]simulate.Dist, bad string, k int) (map[string]map[string]simulate.Dist, float64, float64, error) {
	o := spec.Objectives[k]
	m := metricOf(spec, o.Metric)
	upper, limit, relative := o.Limit()
	if relative {
		limit *= truth[spec.Baseline][o.Metric].Value(*m)
	}
	v := limit * (1 - a.Margin)
	if upper {
		v = limit * (1 + a.Margin)
	}
	if limit == 0 && upper {
		v = a.Margin * math.Max(truth[spec.Baseline][o.Metric].Value(*m), 1e-3)
	}
	out := maps.Clone(truth)
	out[bad] = maps.Clone(truth[bad])
	d, err := scaled(truth[bad][o.Metric], *m, v)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: objective %s: %w", ErrAssumptions, o.Metric, err)
	}
	out[bad][o.Metric] = d
	return out, v, limit, nil
}
