package events

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func validWindow() MetricsObserved {
	m := NewMetricsObserved(t0, t0.Add(time.Minute))
	m.Set("v1", "errors", Ratio(1, 100))
	m.Set("v1", "latency", Mean(2, 10, 52))
	m.Set("v2", "errors", Ratio(0, 50))
	m.Set("v2", "latency-p95", Histogram([]float64{10, 20}, []int64{1, 2, 3}))
	return m
}

func TestMetricsObservedValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(m *MetricsObserved)
		types  map[string]string
		want   []string
	}{
		{name: "valid", change: func(*MetricsObserved) {}},
		{name: "shop-v2 successes above trials", change: func(m *MetricsObserved) { m.Set("shop-v2", "errors", Ratio(5, 4)) },
			want: []string{`data.versions["shop-v2"]["errors"].successes`}},
		{name: "window ends before start", change: func(m *MetricsObserved) { m.Window.End = m.Window.Start },
			want: []string{"data.window.end"}},
		{name: "no versions", change: func(m *MetricsObserved) { m.Versions = map[string]map[string]Observation{} },
			want: []string{"data.versions"}},
		{name: "nil versions", change: func(m *MetricsObserved) { m.Versions = nil }, want: []string{"data.versions"}},
		{name: "version without metrics", change: func(m *MetricsObserved) { m.Versions["v3"] = map[string]Observation{} },
			want: []string{`data.versions["v3"]`}},
		{name: "bad names", change: func(m *MetricsObserved) { m.Set("V3", "p_95", Ratio(1, 1)) },
			want: []string{`data.versions["V3"]`, `data.versions["V3"]["p_95"]`}},
		{name: "too many versions", change: func(m *MetricsObserved) {
			for i := range MaxVersions {
				m.Set(fmt.Sprintf("x%d", i), "errors", Ratio(0, 0))
			}
		}, want: []string{"data.versions"}},
		{name: "too many metrics", change: func(m *MetricsObserved) {
			for i := range MaxMetrics {
				m.Set("v1", fmt.Sprintf("m%d", i), Ratio(0, 0))
			}
		}, want: []string{`data.versions["v1"]`}},
		{name: "errors sorted by version then metric", change: func(m *MetricsObserved) {
			m.Set("v2", "b", Ratio(2, 1))
			m.Set("v2", "a", Ratio(2, 1))
			m.Set("v1", "z", Ratio(2, 1))
		}, want: []string{`data.versions["v1"]["z"].successes`, `data.versions["v2"]["a"].successes`, `data.versions["v2"]["b"].successes`}},
		{name: "declared types match", change: func(*MetricsObserved) {},
			types: map[string]string{"errors": MetricRatio, "latency": MetricMean, "latency-p95": MetricQuantile}},
		{name: "declared type differs", change: func(*MetricsObserved) {},
			types: map[string]string{"latency": MetricRatio},
			want: []string{
				`data.versions["v1"]["latency"].count`, `data.versions["v1"]["latency"].sum`, `data.versions["v1"]["latency"].sumSquares`,
				`data.versions["v1"]["latency"].successes`, `data.versions["v1"]["latency"].trials`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := validWindow()
			tc.change(&m)
			err := m.ValidateTypes(tc.types)
			if diff := cmp.Diff(tc.want, errPaths(t, err)); diff != "" {
				t.Errorf("paths (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tc.types == nil {
				if diff := cmp.Diff(err, m.Validate(), cmp.Comparer(func(a, b error) bool { return fmt.Sprint(a) == fmt.Sprint(b) })); diff != "" {
					t.Errorf("Validate and ValidateTypes(nil) differ:\n%s", diff)
				}
			}
		})
	}
}

func TestMetricsObservedMessage(t *testing.T) {
	m := validWindow()
	m.Set("shop-v2", "errors", Ratio(5, 4))
	want := `data.versions["shop-v2"]["errors"].successes: must be <= trials (4), got 5`
	if err := m.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
}

func TestControl(t *testing.T) {
	long := strings.Repeat("é", MaxTextLength)
	for _, tc := range []struct {
		c    Control
		want []string
	}{
		{Control{Action: ActionPause}, nil},
		{Control{Action: ActionResume, Reason: long}, nil},
		{Control{Action: ActionAbort, Reason: "bad"}, nil},
		{Control{Action: ActionPromote, Version: "v2"}, nil},
		{Control{Action: ActionPromote}, []string{"data.version"}},
		{Control{Action: ActionPromote, Version: "V2"}, []string{"data.version"}},
		{Control{Action: ActionPause, Version: "v2"}, []string{"data.version"}},
		{Control{Action: "restart"}, []string{"data.action"}},
		{Control{}, []string{"data.action"}},
		{Control{Action: ActionAbort, Reason: long + "x"}, []string{"data.reason"}},
	} {
		got, err := NewControl(tc.c.Action, tc.c.Version, tc.c.Reason)
		if diff := cmp.Diff(tc.want, errPaths(t, err)); diff != "" {
			t.Errorf("NewControl(%+v) paths (-want +got):\n%s\nerror: %v", tc.c, diff, err)
		}
		if diff := cmp.Diff(tc.c, got); diff != "" {
			t.Errorf("NewControl(%+v) (-want +got):\n%s", tc.c, diff)
		}
	}
}
