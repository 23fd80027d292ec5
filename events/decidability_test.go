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
		},
		Objectives: []Objective{
			{Metric: "latency", UpperLimit: f(120)},
			{Metric: "latency", UpperLimit: f(250)},
			{Metric: "latency-s", UpperLimit: f(0.3)},
			{Metric: "size", LowerLimit: f(0.5)},
			{Metric: "size", UpperLimit: f(9)},
			{Metric: "latency", UpperLimitRelative: f(1.2)},
			{Metric: "errors", UpperLimit: f(0.01)},
		},
	}
	want := []string{
		"latency ≤ 120 ms: inside bucket (100, 250]; decidable at 100 or 250",
		"latency-s ≤ 0.3 s: inside bucket (0.25, 0.5]; decidable at 0.25 or 0.5",
		"size ≥ 0.5: inside bucket (0, 1]; decidable at 1",
		"size ≤ 9: inside bucket (4, ∞]; decidable at 4 (the histogram's last bound)",
	}
	if diff := cmp.Diff(want, spec.Decidability()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
