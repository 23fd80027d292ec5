package events

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func loadPerformance(l *LoadSpec) ExperimentSpec {
	return ExperimentSpec{
		Kind: KindPerformance, Baseline: "v1",
		Metrics: []MetricSpec{
			{Name: "errors", Type: MetricRatio},
			{Name: "latency-p95", Type: MetricQuantile, Quantile: 0.95, Unit: "ms"},
		},
		Objectives: []Objective{{Metric: "errors", UpperLimit: specRef(0.01)}, {Metric: "latency-p95", UpperLimit: specRef(250.0)}},
		Load:       l,
	}
}

func TestLoadDefaulted(t *testing.T) {
	tests := []struct {
		name string
		in   LoadSpec
		want LoadSpec
	}{
		{"empty", LoadSpec{}, LoadSpec{Target: "/", Rate: 10, Concurrency: 32, Method: "GET", Duration: &Duration{10 * time.Second}}},
		{"requests keep no duration", LoadSpec{Requests: 50, Rate: 25},
			LoadSpec{Target: "/", Rate: 25, Concurrency: 32, Method: "GET", Requests: 50}},
		{"set fields stay", LoadSpec{Target: "/x", Rate: 3, Concurrency: 2, Method: "POST", Duration: &Duration{time.Second}, WarmUp: &Duration{time.Second}},
			LoadSpec{Target: "/x", Rate: 3, Concurrency: 2, Method: "POST", Duration: &Duration{time.Second}, WarmUp: &Duration{time.Second}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.in.Defaulted()); diff != "" {
				t.Errorf("Defaulted() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadDefaultedSharesNoMemory(t *testing.T) {
	in := loadPerformance(&LoadSpec{Headers: map[string]string{"A": "1"}, WarmUp: &Duration{time.Second}})
	d := in.Defaulted()
	d.Load.Headers["A"] = "2"
	d.Load.WarmUp.Duration = time.Hour
	if in.Load.Headers["A"] != "1" || in.Load.WarmUp.Duration != time.Second || in.Load.Rate != 0 {
		t.Errorf("Defaulted wrote through to the caller's load block: %+v", in.Load)
	}
}

func TestLoadBurstLength(t *testing.T) {
	tests := []struct {
		in   LoadSpec
		want time.Duration
	}{
		{LoadSpec{}.Defaulted(), 10 * time.Second},
		{LoadSpec{Requests: 100, Rate: 50}, 2 * time.Second},
		{LoadSpec{Requests: 100}, 0},
	}
	for _, tc := range tests {
		if got := tc.in.BurstLength(); got != tc.want {
			t.Errorf("%+v.BurstLength() = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestValidateLoad(t *testing.T) {
	withMetric := func(m MetricSpec) ExperimentSpec {
		s := loadPerformance(&LoadSpec{})
		s.Metrics = append(s.Metrics, m)
		return s
	}
	onlyCustom := loadPerformance(&LoadSpec{})
	onlyCustom.Metrics = []MetricSpec{{Name: "conversion", Type: MetricRatio}}
	onlyCustom.Objectives = []Objective{{Metric: "conversion", LowerLimit: specRef(0.1)}}
	canary := validCanary()
	canary.Metrics[1].Query = ""
	canary.Load = &LoadSpec{}
	tests := []struct {
		name string
		spec ExperimentSpec
		want []string // field paths, in order
	}{
		{"defaults", loadPerformance(&LoadSpec{}), nil},
		{"full", loadPerformance(&LoadSpec{Target: "http://v1-shop.ns.example.com/a?b=1", Rate: 200, Concurrency: 10, Requests: 1000,
			Method: "POST", Headers: map[string]string{"Content-Type": "application/json"}, Body: "{}", WarmUp: &Duration{time.Second}}), nil},
		{"canary", canary, []string{"spec.load"}},
		{"rate", loadPerformance(&LoadSpec{Rate: -1}), []string{"spec.load.rate"}},
		{"rate too high", loadPerformance(&LoadSpec{Rate: MaxLoadRate + 1}), []string{"spec.load.rate"}},
		{"concurrency", loadPerformance(&LoadSpec{Concurrency: MaxLoadConcurrency + 1}), []string{"spec.load.concurrency"}},
		{"both", loadPerformance(&LoadSpec{Duration: &Duration{time.Second}, Requests: 5}), []string{"spec.load.requests"}},
		{"duration", loadPerformance(&LoadSpec{Duration: &Duration{MaxLoadDuration + time.Second}}), []string{"spec.load.duration"}},
		{"zero duration", loadPerformance(&LoadSpec{Duration: &Duration{}}), []string{"spec.load.duration"}},
		{"requests", loadPerformance(&LoadSpec{Requests: -3}), []string{"spec.load.requests"}},
		{"warm-up", loadPerformance(&LoadSpec{WarmUp: &Duration{-time.Second}}), []string{"spec.load.warmUp"}},
		{"method", loadPerformance(&LoadSpec{Method: "get"}), []string{"spec.load.method"}},
		{"body", loadPerformance(&LoadSpec{Body: string(make([]byte, MaxLoadBody+1))}), []string{"spec.load.body"}},
		{"headers", loadPerformance(&LoadSpec{Headers: map[string]string{"Bad Name": "x", "host": "y", "X-Ok": "a\nb"}}),
			[]string{"spec.load.headers.Bad Name", "spec.load.headers.X-Ok", "spec.load.headers.host"}},
		{"relative target", loadPerformance(&LoadSpec{Target: "api"}), []string{"spec.load.target"}},
		{"ftp target", loadPerformance(&LoadSpec{Target: "ftp://v1-shop/"}), []string{"spec.load.target"}},
		{"user info", loadPerformance(&LoadSpec{Target: "http://me@v1-shop/"}), []string{"spec.load.target"}},
		{"query", withMetric(MetricSpec{Name: "latency", Type: MetricMean, Query: "x"}), []string{"spec.metrics[2].query"}},
		{"unit", withMetric(MetricSpec{Name: "latency", Type: MetricMean, Unit: "min"}), []string{"spec.metrics[2].unit"}},
		{"nothing measured", onlyCustom, []string{"spec.metrics"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, fe := range FieldErrorsOf(tc.spec.Validate()) {
				got = append(got, fe.Path)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() paths (-want +got):\n%s\n%v", diff, tc.spec.Validate())
			}
		})
	}
}

func TestBuiltin(t *testing.T) {
	tests := []struct {
		m    MetricSpec
		want string
	}{
		{MetricSpec{Name: "errors", Type: MetricRatio}, BuiltinErrors},
		{MetricSpec{Name: "errors", Type: MetricMean}, ""},
		{MetricSpec{Name: "latency", Type: MetricMean}, BuiltinLatency},
		{MetricSpec{Name: "latency-p99", Type: MetricQuantile}, BuiltinLatency},
		{MetricSpec{Name: "latency-p99", Type: MetricRatio}, ""},
		{MetricSpec{Name: "latencyx", Type: MetricMean}, ""},
	}
	for _, tc := range tests {
		if got := tc.m.Builtin(); got != tc.want {
			t.Errorf("%+v.Builtin() = %q, want %q", tc.m, got, tc.want)
		}
	}
}
