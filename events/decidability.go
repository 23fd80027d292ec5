package events

import (
	"fmt"
	"math"
	"strconv"
)

// KnativeLatencyBounds are Knative Serving v0.50's queue-proxy
// request-duration histogram bounds in milliseconds
// (pkg/queue/request_metric.go, there in seconds): the buckets a quantile
// metric without declared buckets is read on.
var KnativeLatencyBounds = []float64{5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}

// HistogramBounds are the histogram bounds a quantile metric is read on:
// its declared buckets, else Knative's queue-proxy bounds in the metric's
// unit (seconds when Unit is "s", else milliseconds).
func (m MetricSpec) HistogramBounds() []float64 {
	if len(m.Buckets) > 0 {
		return append([]float64(nil), m.Buckets...)
	}
	scale := 1.0
	if m.Unit == "s" {
		scale = 1e-3
	}
	out := make([]float64, len(KnativeLatencyBounds))
	for i, b := range KnativeLatencyBounds {
		out[i] = b * scale
	}
	return out
}

// DefaultRequestTimeout is Knative Serving's default request timeout
// (revision-timeout-seconds), in seconds: no request's latency exceeds it.
const DefaultRequestTimeout = 300

// timeUnits are the units Range knows, in seconds.
var timeUnits = map[string]float64{"s": 1, "ms": 1e-3, "us": 1e-6}

// Range is the interval [lo, hi] that every value of a mean metric lies
// in, which its absolute verdicts assume: Min and Max when declared; else
// lo = 0 (latencies, sizes, amounts) and hi = Knative's default request
// timeout in the metric's unit for a time unit (s, ms, us), +Inf for any
// other. With hi = +Inf a mean can be shown above a limit but never below
// one: no finite sample rules out a rare huge value.
func (m MetricSpec) Range() (lo, hi float64) {
	lo, hi = 0, math.Inf(1)
	if scale, ok := timeUnits[m.Unit]; ok {
		hi = DefaultRequestTimeout / scale
	}
	if m.Min != nil {
		lo = *m.Min
	}
	if m.Max != nil {
		hi = *m.Max
	}
	return lo, hi
}

// Decidability lists, for every absolute limit on a quantile metric that
// lies strictly inside a histogram bucket, a note for people: bucket
// counts can only show that the quantile is below or above a bucket
// bound, so while the quantile lies in the limit's bucket neither
// "satisfied" nor "violated" can ever be shown; the nearest bounds are
// the limits the histogram can decide. For example "latency ≤ 120 ms:
// inside bucket (100, 250]; decidable at 100 or 250". The experiment is
// still valid: it ends at the bucket rule or at maxDuration.
func (s ExperimentSpec) Decidability() []string {
	var out []string
	for _, o := range s.Objectives {
		upper, limit, relative := o.Limit()
		if relative {
			continue
		}
		var m *MetricSpec
		for i := range s.Metrics {
			if s.Metrics[i].Name == o.Metric {
				m = &s.Metrics[i]
			}
		}
		if m != nil && m.Type == MetricMean {
			if note := meanNote(*m, upper, limit); note != "" {
				out = append(out, note)
			}
			continue
		}
		if m == nil || m.Type != MetricQuantile {
			continue
		}
		bounds := m.HistogramBounds()
		lo, hi := math.Inf(-1), math.Inf(1)
		if len(bounds) > 0 && bounds[0] > 0 {
			lo = 0
		}
		onBound := false
		for _, b := range bounds {
			switch {
			case b == limit:
				onBound = true
			case b < limit:
				lo = b
			case b > limit && math.IsInf(hi, 1):
				hi = b
			}
		}
		if onBound {
			continue
		}
		op := "≥"
		if upper {
			op = "≤"
		}
		unit := ""
		if m.Unit != "" {
			unit = " " + m.Unit
		}
		var at string
		switch {
		case math.IsInf(hi, 1):
			at = "decidable at " + num(lo) + " (the histogram's last bound)"
		case lo <= 0:
			at = "decidable at " + num(hi)
		default:
			at = "decidable at " + num(lo) + " or " + num(hi)
		}
		out = append(out, fmt.Sprintf("%s %s %s%s: inside bucket (%s, %s]; %s", o.Metric, op, num(limit), unit, num(lo), num(hi), at))
	}
	return out
}

func num(x float64) string {
	if math.IsInf(x, 1) {
		return "∞"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// meanNote says when an absolute limit on a mean can never be shown met,
// or is shown met only as slowly as its range allows.
func meanNote(m MetricSpec, upper bool, limit float64) string {
	lo, hi := m.Range()
	op, unit := "≥", ""
	if upper {
		op = "≤"
	}
	if m.Unit != "" {
		unit = " " + m.Unit
	}
	head := fmt.Sprintf("%s %s %s%s: a mean", m.Name, op, num(limit), unit)
	switch {
	case upper && math.IsInf(hi, 1):
		return head + " with no max can be shown violated, never satisfied; declare max, a value no request exceeds"
	case !upper && math.IsInf(lo, -1):
		return head + " with no min can be shown violated, never satisfied; declare min"
	case upper && m.Max == nil && hi > 10*limit:
		return fmt.Sprintf("%s is shown satisfied only once the data rule out values up to max %s%s (the default request timeout); declare a smaller max to decide sooner", head, num(hi), unit)
	}
	return ""
}
