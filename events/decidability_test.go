package events

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecidability(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	spec := ExperimentSpec{
		Metrics: []MetricSpec{
			{Name: "latency", Type: MetricQuantile, Quantile: 0.95, Unit: "ms"},
			{Name: "latency-s", Type: MetricQuantile, Quantile: 0.99, Unit: "s"},
			{Name: "size", Type: MetricQuantile, Quantile: 0.5, Buckets: []float64{1, 2, 4}},
			{Name: "errors", Type: MetricRatio},
			{Name: "mean-ms", Type: MetricMean, Unit: "ms"},
			{Name: "mean-capped", Type: MetricMean, Unit: "ms", Max: f(1000)},
			{Name: "revenue", Type: MetricMean},
		},
		Objectives: []Objective{
			{Metric: "latency", UpperLimit: f(120)},
			{Metric: "latency", UpperLimit: f(250)},
			{Metric: "latency-s", UpperLimit: f(0.3)},
			{Metric: "size", LowerLimit: f(0.5)},
			{Metric: "size", UpperLimit: f(9)},
			{Metric: "latency", UpperLimitRelative: f(1.2)},
			{Metric: "errors", UpperLimit: f(0.01)},
			{Metric: "mean-ms", UpperLimit: f(100)},
			{Metric: "mean-capped", UpperLimit: f(100)},
			{Metric: "revenue", LowerLimit: f(2)},
			{Metric: "revenue", UpperLimit: f(9)},
		},
	}
	want := []string{
		"latency ≤ 120 ms: inside bucket (100, 250]; decidable at 100 or 250",
		"latency-s ≤ 0.3 s: inside bucket (0.25, 0.5]; decidable at 0.25 or 0.5",
		"size ≥ 0.5: inside bucket (0, 1]; decidable at 1",
		"size ≤ 9: inside bucket (4, ∞]; decidable at 4 (the histogram's last bound)",
		"mean-ms ≤ 100 ms: a mean is shown satisfied only once the data rule out values up to max 300000 ms (the default request timeout); declare a smaller max to decide sooner",
		"revenue ≤ 9: a mean with no max can be shown violated, never satisfied; declare max, a value no request exceeds",
	}
	if diff := cmp.Diff(want, spec.Decidability()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
