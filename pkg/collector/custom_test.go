package collector

import (
	"math"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"

	"github.com/iter8-knative/iter8/events"
)

func TestRender(t *testing.T) {
	d := TemplateData{Namespace: "shop", Service: "checkout", Revision: "checkout-00002", Window: "60s"}
	tests := []struct {
		name, query, want string
		wantErr           bool
	}{
		{
			name:  "every field",
			query: `sum(increase(orders_total{namespace="{{.Namespace}}",service="{{.Service}}",revision="{{.Revision}}"}[{{.Window}}]))`,
			want:  `sum(increase(orders_total{namespace="shop",service="checkout",revision="checkout-00002"}[60s]))`,
		},
		{name: "unknown field", query: `x{rev="{{.Version}}"}`, wantErr: true},
		{name: "malformed", query: `x{rev="{{.Revision"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := render(events.MetricSpec{Name: "m", Query: tt.query}, d)
			if tt.wantErr {
				if !events.IsPermanent(err) || events.StatusOf(err) != http.StatusUnprocessableEntity {
					t.Errorf("render error = %v, want a permanent 422", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("render (-want +got):\n%s", diff)
			}
		})
	}
}

func stat(name string, v float64) *model.Sample {
	return &model.Sample{Metric: model.Metric{StatLabel: model.LabelValue(name)}, Value: model.SampleValue(v)}
}

func bucket(le string, v float64) *model.Sample {
	return &model.Sample{Metric: model.Metric{model.BucketLabel: model.LabelValue(le), "pod": "p1"}, Value: model.SampleValue(v)}
}

func TestCustomObservation(t *testing.T) {
	ratio := events.MetricSpec{Name: "conversion", Type: events.MetricRatio}
	mean := events.MetricSpec{Name: "revenue", Type: events.MetricMean}
	quantile := events.MetricSpec{Name: "ttfb", Type: events.MetricQuantile, Quantile: 0.9}
	coarse := quantile
	coarse.Buckets = []float64{0.5}
	tests := []struct {
		name       string
		metric     events.MetricSpec
		value      model.Value
		want       events.Observation
		wantReason string
		wantErr    bool
	}{
		{name: "ratio", metric: ratio, value: model.Vector{stat("successes", 12.4), stat("trials", 100.2)}, want: events.Ratio(12, 100)},
		{name: "ratio adds up repeated statistics", metric: ratio, value: model.Vector{stat("successes", 1), stat("successes", 2), stat("trials", 5)}, want: events.Ratio(3, 5)},
		{name: "ratio without successes has none", metric: ratio, value: model.Vector{stat("trials", 5)}, want: events.Ratio(0, 5)},
		{name: "ratio successes rounded past trials", metric: ratio, value: model.Vector{stat("successes", 10.6), stat("trials", 10.4)}, want: events.Ratio(10, 10)},
		{name: "ratio without trials", metric: ratio, value: model.Vector{stat("successes", 5)}, wantErr: true},
		{name: "ratio of one number", metric: ratio, value: model.Vector{{Metric: model.Metric{}, Value: 0.1}}, wantErr: true},
		{name: "ratio with no trials in the window", metric: ratio, value: model.Vector{stat("trials", 0)}, wantReason: "no trials in the window"},
		{name: "mean of one number", metric: mean, value: model.Vector{{Metric: model.Metric{"revision": "r"}, Value: 3}}, want: events.Mean(1, 3, 9)},
		{name: "mean of a scalar", metric: mean, value: &model.Scalar{Value: -2}, want: events.Mean(1, -2, 4)},
		{name: "mean statistics", metric: mean, value: model.Vector{stat("count", 4), stat("sum", 10), stat("sumSquares", 30)}, want: events.Mean(4, 10, 30)},
		{name: "mean sumSquares raised to a valid variance", metric: mean, value: model.Vector{stat("count", 4), stat("sum", 10), stat("sumSquares", 24)}, want: events.Mean(4, 10, 25)},
		{name: "mean statistics incomplete", metric: mean, value: model.Vector{stat("count", 4), stat("sum", 10)}, wantErr: true},
		{name: "mean of two unlabelled series", metric: mean, value: model.Vector{{Metric: model.Metric{"a": "1"}, Value: 1}, {Metric: model.Metric{"a": "2"}, Value: 2}}, wantErr: true},
		{name: "mean with a count of 0", metric: mean, value: model.Vector{stat("count", 0), stat("sum", 0), stat("sumSquares", 0)}, wantReason: "a count of 0 in the window"},
		{
			name: "quantile buckets", metric: quantile,
			value: model.Vector{bucket("0.1", 3), bucket("0.5", 5), bucket("+Inf", 6), bucket("0.1", 1), bucket("0.5", 1), bucket("+Inf", 1)},
			want:  events.Histogram([]float64{0.1, 0.5}, []int64{4, 2, 1}),
		},
		{
			name: "quantile on declared buckets", metric: coarse,
			value: model.Vector{bucket("0.1", 3), bucket("0.5", 5), bucket("+Inf", 6)},
			want:  events.Histogram([]float64{0.5}, []int64{5, 1}),
		},
		{name: "quantile without +Inf", metric: quantile, value: model.Vector{bucket("0.1", 3)}, wantErr: true},
		{name: "quantile without le", metric: quantile, value: model.Vector{stat("count", 3)}, wantErr: true},
		{name: "quantile with no values", metric: quantile, value: model.Vector{bucket("0.1", 0), bucket("+Inf", 0)}, wantReason: "no values in the window"},
		{name: "no series", metric: mean, value: model.Vector{}, wantReason: "the query returned no series"},
		{name: "NaN", metric: mean, value: model.Vector{{Metric: model.Metric{}, Value: model.SampleValue(math.NaN())}}, wantReason: "the query returned NaN"},
		{name: "a range vector", metric: mean, value: model.Matrix{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := customObservation(tt.metric, tt.value)
			if tt.wantErr {
				if !events.IsPermanent(err) {
					t.Errorf("error = %v (observation %+v, reason %q), want a permanent error", err, got, reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", reason, tt.wantReason)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("observation (-want +got):\n%s", diff)
			}
		})
	}
}
