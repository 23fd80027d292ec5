package simulate

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
)

// DefaultLatencyBuckets are the histogram bounds, in milliseconds, that a
// quantile metric without buckets is binned into: Knative's queue-proxy
// bounds (events.KnativeLatencyBounds), so that the simulator sees the
// resolution a real collector scraping Knative gets.
var DefaultLatencyBuckets = events.KnativeLatencyBounds

// Buckets returns the histogram bounds a quantile metric is binned into
// (events.MetricSpec.HistogramBounds).
func Buckets(m events.MetricSpec) []float64 { return m.HistogramBounds() }

// Mean is the distribution's expectation: p, mean, exp(mu + sigma²/2) or
// mean.
func (d Dist) Mean() float64 {
	switch {
	case d.Bernoulli != nil:
		return *d.Bernoulli
	case d.Normal != nil:
		return *d.Normal.Mean
	case d.LogNormal != nil:
		return math.Exp(*d.LogNormal.Mu + *d.LogNormal.Sigma**d.LogNormal.Sigma/2)
	case d.Exponential != nil:
		return *d.Exponential.Mean
	}
	return math.NaN()
}

// Quantile is the distribution's q-quantile (the least x with F(x) ≥ q).
func (d Dist) Quantile(q float64) float64 {
	switch {
	case d.Bernoulli != nil:
		if q <= 1-*d.Bernoulli {
			return 0
		}
		return 1
	case d.Normal != nil:
		return distuv.Normal{Mu: *d.Normal.Mean, Sigma: *d.Normal.SD}.Quantile(q)
	case d.LogNormal != nil:
		return distuv.LogNormal{Mu: *d.LogNormal.Mu, Sigma: *d.LogNormal.Sigma}.Quantile(q)
	case d.Exponential != nil:
		return distuv.Exponential{Rate: 1 / *d.Exponential.Mean}.Quantile(q)
	}
	return math.NaN()
}

// CDF is P(X ≤ x) for the continuous distributions; for a Bernoulli, the
// step at 0 and 1.
func (d Dist) CDF(x float64) float64 {
	switch {
	case d.Bernoulli != nil:
		switch {
		case x < 0:
			return 0
		case x < 1:
			return 1 - *d.Bernoulli
		}
		return 1
	case d.Normal != nil:
		return distuv.Normal{Mu: *d.Normal.Mean, Sigma: *d.Normal.SD}.CDF(x)
	case d.LogNormal != nil:
		if x <= 0 {
			return 0
		}
		return distuv.LogNormal{Mu: *d.LogNormal.Mu, Sigma: *d.LogNormal.Sigma}.CDF(x)
	case d.Exponential != nil:
		return distuv.Exponential{Rate: 1 / *d.Exponential.Mean}.CDF(x)
	}
	return math.NaN()
}

// Value is what the metric measures of the distribution: the mean for a
// ratio or mean metric, the metric's quantile for a quantile metric.
func (d Dist) Value(m events.MetricSpec) float64 {
	if m.Type == events.MetricQuantile {
		return d.Quantile(m.Quantile)
	}
	return d.Mean()
}

// Truth is what the scenario's distributions imply, computed analytically:
// the yardstick the runs are scored against.
type Truth struct {
	// Values[v][m] is version v's true value of metric m.
	Values [][]float64
	// Failing[v] is true when version v's true values violate an
	// objective.
	Failing []bool
	// Reward[v] is version v's true reward; nil without a reward.
	Reward []float64
	// Best is the best true reward among versions that meet every
	// objective (the baseline's when none does); NaN without a reward.
	Best float64
	// Maximize is the reward's direction.
	Maximize bool
}

// TruthOf evaluates the scenario's truth against its objectives.
func TruthOf(s Scenario) Truth {
	spec := s.Experiment.Defaulted()
	versions := spec.Versions()
	idx := map[string]int{}
	for j, m := range spec.Metrics {
		idx[m.Name] = j
	}
	t := Truth{Values: make([][]float64, len(versions)), Failing: make([]bool, len(versions)), Best: math.NaN()}
	for i, v := range versions {
		t.Values[i] = make([]float64, len(spec.Metrics))
		for j, m := range spec.Metrics {
			t.Values[i][j] = s.Truth[v][m.Name].Value(m)
		}
	}
	for i := range versions {
		for _, o := range spec.Objectives {
			j := idx[o.Metric]
			x, base := t.Values[i][j], t.Values[0][j]
			upper, limit, relative := o.Limit()
			if relative {
				limit *= base
			}
			if ok := (upper && x <= limit) || (!upper && x >= limit); !ok {
				t.Failing[i] = true
			}
		}
	}
	if spec.Reward == nil {
		return t
	}
	t.Maximize = spec.Reward.Direction != events.DirectionMinimize
	j := idx[spec.Reward.Metric]
	t.Reward = make([]float64, len(versions))
	for i := range versions {
		t.Reward[i] = t.Values[i][j]
		if t.Failing[i] {
			continue
		}
		if math.IsNaN(t.Best) || t.better(t.Reward[i], t.Best) {
			t.Best = t.Reward[i]
		}
	}
	if math.IsNaN(t.Best) {
		t.Best = t.Reward[0]
	}
	return t
}

func (t Truth) better(a, b float64) bool {
	if t.Maximize {
		return a > b
	}
	return a < b
}

// Gap is the reward lost per request served by version v instead of the
// best feasible version; 0 without a reward. A failing version that beats
// the best feasible one has a negative gap, as the contract's definition
// implies; failingExposure is where serving it is counted against a policy.
func (t Truth) Gap(v int) float64 {
	if t.Reward == nil {
		return 0
	}
	if t.Maximize {
		return t.Best - t.Reward[v]
	}
	return t.Reward[v] - t.Best
}
