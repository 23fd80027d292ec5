package prometheus

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
)

// TestQueryLimitsAgainstPrometheus: a custom query that selects every
// series of a real Prometheus is refused by the collector's series cap,
// and an answer larger than the byte cap by the byte cap, each as a
// permanent LimitError naming the limit (the tick then fails the
// experiment with it); with the default caps the same query passes its
// size check.
func TestQueryLimitsAgainstPrometheus(t *testing.T) {
	a := NewPod(t, OTel, ns, baseline)
	b := NewPod(t, OTel, ns, canary)
	a.Serve(3, 200, 0.02)
	b.Serve(2, 500, 0.04)
	prom := startT(t, []string{a.Target(), b.Target()})
	t0 := prom.Boundary()
	a.Serve(1, 200, 0.02)
	t1 := prom.Boundary()

	everything := spec("")
	everything.Metrics = []events.MetricSpec{{Name: "everything", Type: events.MetricMean, Query: `{__name__=~".+"}`}}
	versions := []string{baseline, canary}
	for _, tc := range []struct {
		name string
		opts []collector.Option
		want string
	}{
		{"series cap", []collector.Option{collector.WithLimits(collector.DefaultMaxResponseBytes, 5)}, "more than 5 series"},
		{"byte cap", []collector.Option{collector.WithLimits(2048, collector.DefaultMaxSeries)}, "more than 2048 bytes"},
		{"default caps", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := collector.New(prom.URL(), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Collect(context.Background(), ns, service, everything, versions, t0, t1)
			var le *collector.LimitError
			if tc.want == "" {
				if errors.As(err, &le) {
					t.Fatalf("default caps: %v", err)
				}
				return
			}
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) || !events.IsPermanent(err) {
				t.Errorf("Collect: %v, want a permanent LimitError saying %q", err, tc.want)
			}
		})
	}
}
