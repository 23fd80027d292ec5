package stats

import (
	"strings"
	"testing"
)

func TestCaveat(t *testing.T) {
	bounds := []float64{50, 75, 100, 250, 500}
	cases := []struct {
		name string
		m    Metric
		d    Data
		want string // substring; "" for none
	}{
		{"ratio with 2 events", Metric{Kind: Ratio}, Data{Successes: 2, Trials: 300}, "2 events in 300"},
		{"ratio with 30 events", Metric{Kind: Ratio}, Data{Successes: 30, Trials: 300}, ""},
		{"ratio without data", Metric{Kind: Ratio}, Data{}, ""},
		{"mean at 30", Metric{Kind: Mean}, Data{Count: 30, Mu: 1, M2: 3}, "30 observations"},
		{"mean at 300", Metric{Kind: Mean}, Data{Count: 300, Mu: 1, M2: 3}, ""},
		{"p99 with an empty tail", Metric{Kind: Quantile, Q: 0.99}, Data{Bounds: bounds, Counts: []float64{600, 250, 130, 19, 1, 0}}, "above 250"},
		{"p95 with data beyond", Metric{Kind: Quantile, Q: 0.95}, Data{Bounds: bounds, Counts: []float64{600, 250, 80, 60, 8, 2}}, ""},
	}
	for _, c := range cases {
		got := Caveat(c.m, c.d)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: caveat %q, want %q", c.name, got, c.want)
		}
	}
}
