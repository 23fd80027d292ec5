package prometheus

import (
	"math"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// expectation computes, from what a test served, the observations the
// collector must produce. It is written per request, independently of the
// collector's per-bucket arithmetic.
type expectation struct {
	// boundsMs are the exporter's histogram bounds in milliseconds.
	boundsMs []float64
	// buckets are the quantile metric's declared buckets.
	buckets []float64
}

// errors is the built-in error ratio: 5xx responses among all.
func (e expectation) errors(reqs []Request) events.Observation {
	var failed, all int64
	for _, r := range reqs {
		all += int64(r.N)
		if r.Status >= 500 {
			failed += int64(r.N)
		}
	}
	return events.Ratio(failed, all)
}

// latency is the built-in mean latency in ms: the exact count and sum,
// and the sum of squares of the documented model, in which each value is
// spread uniformly over its histogram bucket (the first from 0).
func (e expectation) latency(reqs []Request) events.Observation {
	var n, sum, m1, m2 float64
	for _, r := range reqs {
		x := r.Seconds * 1000
		lo, hi := 0.0, math.Inf(1)
		for i, b := range e.boundsMs {
			if x <= b {
				hi = b
				if i > 0 {
					lo = e.boundsMs[i-1]
				}
				break
			}
		}
		k := float64(r.N)
		n += k
		sum += k * x
		m1 += k * (lo + hi) / 2
		m2 += k * (lo*lo + lo*hi + hi*hi) / 3
	}
	variance := m2/n - (m1/n)*(m1/n)
	return events.Mean(int64(n), sum, n*((sum/n)*(sum/n)+variance))
}

// histogram bins each value into the declared buckets.
func (e expectation) histogram(reqs []Request) events.Observation {
	counts := make([]int64, len(e.buckets)+1)
	for _, r := range reqs {
		i := 0
		for i < len(e.buckets) && r.Seconds*1000 > e.buckets[i] {
			i++
		}
		counts[i] += int64(r.N)
	}
	return events.Histogram(e.buckets, counts)
}

// served is the custom "served" metric: the revision's cumulative request
// count at the window's end, one observation.
func served(cumulative []Request) events.Observation {
	var n float64
	for _, r := range cumulative {
		n += float64(r.N)
	}
	return events.Mean(1, n, n*n)
}

// fast is the custom "fast" ratio: cumulative requests of at most 50ms
// among all.
func fast(cumulative []Request) events.Observation {
	var ok, all int64
	for _, r := range cumulative {
		all += int64(r.N)
		if r.Seconds <= 0.05 {
			ok += int64(r.N)
		}
	}
	return events.Ratio(ok, all)
}

// observed assembles the expected window: for each version with requests
// in the window, every built-in metric the spec has, and the custom ones
// from the cumulative ledger.
func (e expectation) observed(spec events.ExperimentSpec, from, to time.Time, window, cumulative Ledger) events.MetricsObserved {
	obs := events.NewMetricsObserved(from, to)
	for _, v := range spec.Versions() {
		for _, m := range spec.Metrics {
			switch {
			case m.Name == "served":
				if len(cumulative[v]) > 0 {
					obs.Set(v, m.Name, served(cumulative[v]))
				}
			case m.Name == "fast":
				if len(cumulative[v]) > 0 {
					obs.Set(v, m.Name, fast(cumulative[v]))
				}
			case len(window[v]) == 0:
			case m.Name == "errors":
				obs.Set(v, m.Name, e.errors(window[v]))
			case m.Name == "latency":
				obs.Set(v, m.Name, e.latency(window[v]))
			case strings.HasPrefix(m.Name, "latency-"):
				obs.Set(v, m.Name, e.histogram(window[v]))
			}
		}
	}
	return obs
}

// merge returns a ledger with b's requests after a's.
func merge(a, b Ledger) Ledger {
	out := Ledger{}
	for _, l := range []Ledger{a, b} {
		for k, v := range l {
			out[k] = append(out[k], v...)
		}
	}
	return out
}
