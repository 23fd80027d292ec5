package load

import (
	"fmt"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/iter8-knative/iter8/events"
)

// unitScale is each latency unit in nanoseconds; "" is milliseconds, as
// events.MetricSpec.HistogramBounds reads it.
var unitScale = map[string]float64{"": 1e6, "ms": 1e6, "s": 1e9, "us": 1e3}

// measure accumulates one burst's results into the spec's built-in
// metrics: the error ratio, latency means, and latency histograms in each
// quantile metric's own buckets.
type measure struct {
	metrics     []events.MetricSpec
	hists       map[string]*vegeta.Histogram
	sums        map[string][2]float64 // sum and sum of squares, in the metric's unit
	sent        int64
	errors      int64
	answered    int64
	first, last time.Time
}

func newMeasure(spec events.ExperimentSpec) (*measure, error) {
	m := &measure{hists: map[string]*vegeta.Histogram{}, sums: map[string][2]float64{}}
	for _, ms := range spec.Metrics {
		if ms.Builtin() == "" {
			continue
		}
		m.metrics = append(m.metrics, ms)
		if ms.Builtin() != events.BuiltinLatency || ms.Type != events.MetricQuantile {
			continue
		}
		scale, ok := unitScale[ms.Unit]
		if !ok {
			return nil, fmt.Errorf("metric %q: unit %q: want s, ms or us", ms.Name, ms.Unit)
		}
		// vegeta's buckets are [b_i, b_i+1) from 0, iter8's (b_i-1, b_i]:
		// the counts line up one for one, and differ only for a latency
		// equal to a bound to the nanosecond.
		bounds := ms.HistogramBounds()
		buckets := vegeta.Buckets{0}
		for _, b := range bounds {
			buckets = append(buckets, time.Duration(b*scale))
		}
		m.hists[ms.Name] = &vegeta.Histogram{Buckets: buckets}
	}
	return m, nil
}

// failed is the load's notion of an error: no response, or a status of
// 400 or more. Unlike the built-in errors of live traffic (5xx), a 4xx
// counts: a misaimed load whose every request is 404 must not pass.
func failed(r *vegeta.Result) bool { return r.Code == 0 || r.Code >= 400 }

func (m *measure) add(r *vegeta.Result) {
	m.sent++
	if m.first.IsZero() || r.Timestamp.Before(m.first) {
		m.first = r.Timestamp
	}
	if r.Timestamp.After(m.last) {
		m.last = r.Timestamp
	}
	if failed(r) {
		m.errors++
	}
	// Latency is measured on answered requests only: a refused
	// connection fails fast and would flatter the latency; it counts as
	// an error instead. A timeout has no answer either, and is an error.
	if r.Code == 0 {
		return
	}
	m.answered++
	for _, ms := range m.metrics {
		if ms.Builtin() != events.BuiltinLatency {
			continue
		}
		if h, ok := m.hists[ms.Name]; ok {
			h.Add(r)
			continue
		}
		v := float64(r.Latency) / unitScale[ms.Unit]
		s := m.sums[ms.Name]
		m.sums[ms.Name] = [2]float64{s[0] + v, s[1] + v*v}
	}
}

// observe writes the burst's observations of version into obs. A latency
// metric without an answered request is left out, as the collector leaves
// out a metric without data.
func (m *measure) observe(obs *events.MetricsObserved, version string) error {
	types := map[string]string{}
	for _, ms := range m.metrics {
		types[ms.Name] = ms.Type
		switch {
		case ms.Builtin() == events.BuiltinErrors:
			obs.Set(version, ms.Name, events.Ratio(m.errors, m.sent))
		case m.answered == 0:
		case ms.Type == events.MetricQuantile:
			h := m.hists[ms.Name]
			counts := make([]int64, len(h.Counts))
			for i, c := range h.Counts {
				counts[i] = int64(c)
			}
			obs.Set(version, ms.Name, events.Histogram(ms.HistogramBounds(), counts))
		default:
			s := m.sums[ms.Name]
			obs.Set(version, ms.Name, events.Mean(m.answered, s[0], s[1]))
		}
	}
	if len(obs.Versions) == 0 {
		return nil
	}
	return obs.ValidateTypes(types)
}
