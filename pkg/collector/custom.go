package collector

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/prometheus/common/model"

	"github.com/iter8-knative/iter8/events"
)

// TemplateData is what a metric's query template sees.
type TemplateData struct {
	// Namespace and Service name the Knative Service; Revision is the
	// version being queried.
	Namespace string
	Service   string
	Revision  string
	// Window is the window's length as a PromQL duration ("60s"), for
	// range selectors such as increase(x[{{.Window}}]).
	Window string
}

// StatLabel is the label by which a custom query returns the several
// numbers a ratio or a mean observation needs, one series per number:
// successes and trials, or count, sum and sumSquares.
const StatLabel = "iter8_stat"

// Statistic names a custom query may give in StatLabel.
const (
	StatSuccesses  = "successes"
	StatTrials     = "trials"
	StatCount      = "count"
	StatSum        = "sum"
	StatSumSquares = "sumSquares"
)

// render executes a metric's query template. An unknown field or a
// malformed template is the spec's fault and permanent.
func render(m events.MetricSpec, d TemplateData) (string, error) {
	t, err := template.New(m.Name).Option("missingkey=error").Parse(m.Query)
	if err == nil {
		var b strings.Builder
		if err = t.Execute(&b, d); err == nil {
			return b.String(), nil
		}
	}
	return "", events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("metric %q: query template: %w", m.Name, err))
}

// customObservation reads a custom query's result as an observation of
// metric m. A result with no usable data returns a non-empty reason: the
// metric is missing for this version. A result of the wrong shape is the
// query's fault and returns a permanent error. The conventions, by type:
//
//   - ratio: series labelled iter8_stat="successes" and "trials" (no
//     successes series means 0 successes);
//   - mean: one number, taken as a single observation (count 1), or series
//     labelled iter8_stat="count", "sum" and "sumSquares";
//   - quantile: cumulative buckets labelled le, as in a Prometheus
//     histogram's _bucket series, +Inf included.
//
// Series with the same iter8_stat or le are added up. Counts are rounded to
// whole numbers, since range functions such as increase() extrapolate.
func customObservation(m events.MetricSpec, v model.Value) (events.Observation, string, error) {
	var vec model.Vector
	switch r := v.(type) {
	case *model.Scalar:
		vec = model.Vector{{Metric: model.Metric{}, Value: r.Value}}
	case model.Vector:
		vec = r
	default:
		return events.Observation{}, "", shapeError(m, "returned a %s, want an instant vector or a scalar", v.Type())
	}
	if len(vec) == 0 {
		return events.Observation{}, "the query returned no series", nil
	}
	for _, s := range vec {
		if f := float64(s.Value); math.IsNaN(f) || math.IsInf(f, 0) {
			return events.Observation{}, fmt.Sprintf("the query returned %v", f), nil
		}
	}
	switch m.Type {
	case events.MetricRatio:
		// No successes series is no successes: sum() over no failed
		// requests returns nothing.
		st, err := stats(m, vec, []string{StatTrials}, StatSuccesses)
		if err != nil {
			return events.Observation{}, "", err
		}
		trials := count(st[StatTrials])
		if trials == 0 {
			return events.Observation{}, "no trials in the window", nil
		}
		// Separately extrapolated counters may round past each other.
		return events.Ratio(min(count(st[StatSuccesses]), trials), trials), "", nil
	case events.MetricMean:
		if len(vec) == 1 && vec[0].Metric[StatLabel] == "" {
			x := float64(vec[0].Value)
			return events.Mean(1, x, x*x), "", nil
		}
		st, err := stats(m, vec, []string{StatCount, StatSum, StatSumSquares})
		if err != nil {
			return events.Observation{}, "", err
		}
		n := count(st[StatCount])
		if n == 0 {
			return events.Observation{}, "a count of 0 in the window", nil
		}
		sum := st[StatSum]
		// Cauchy-Schwarz again: separately extrapolated sums may imply a
		// slightly negative variance.
		ss := math.Max(st[StatSumSquares], sum*sum/float64(n))
		return events.Mean(n, sum, ss), "", nil
	case events.MetricQuantile:
		cum := map[float64]float64{}
		for _, s := range vec {
			le, err := strconv.ParseFloat(string(s.Metric[model.BucketLabel]), 64)
			if err != nil || math.IsNaN(le) {
				return events.Observation{}, "", shapeError(m, "returned a series without a numeric le label (%s): a quantile query returns cumulative histogram buckets", s.Metric)
			}
			cum[le] += float64(s.Value)
		}
		if _, ok := cum[math.Inf(1)]; !ok {
			return events.Observation{}, "", shapeError(m, `returned no le="+Inf" bucket`)
		}
		return histogramObservation(m, cum, 0, 1)
	}
	return events.Observation{}, "", shapeError(m, "has unknown type %q", m.Type)
}

// stats adds up the series of each statistic; the required ones must be
// there, the optional ones count 0 when absent.
func stats(m events.MetricSpec, vec model.Vector, required []string, optional ...string) (map[string]float64, error) {
	want := append(slices.Clone(optional), required...)
	out := map[string]float64{}
	seen := map[string]bool{}
	for _, s := range vec {
		name := string(s.Metric[StatLabel])
		if !slices.Contains(want, name) {
			return nil, shapeError(m, "returned a series with %s=%q; a %s query returns one series per statistic, labelled %s with %s",
				StatLabel, name, m.Type, StatLabel, strings.Join(want, ", "))
		}
		out[name] += float64(s.Value)
		seen[name] = true
	}
	for _, w := range required {
		if !seen[w] {
			return nil, shapeError(m, "returned no series with %s=%q; a %s query returns one series per statistic, labelled %s with %s",
				StatLabel, w, m.Type, StatLabel, strings.Join(want, ", "))
		}
	}
	return out, nil
}

// histogramObservation builds a quantile observation from cumulative
// buckets whose bounds are multiplied by scale into the metric's unit, on
// the metric's own buckets when it declares some. A histogram with no
// values is missing.
func histogramObservation(m events.MetricSpec, cum map[float64]float64, total, scale float64) (events.Observation, string, error) {
	bounds, counts := perBucket(cum, total)
	var n int64
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return events.Observation{}, "no values in the window", nil
	}
	if len(bounds) == 0 {
		return events.Observation{}, "", shapeError(m, "histogram has only the +Inf bucket")
	}
	bounds = scaled(bounds, scale)
	if len(m.Buckets) > 0 {
		c, err := rebin(bounds, counts, m.Buckets)
		if err != nil {
			return events.Observation{}, "", events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("metric %q: buckets: %w", m.Name, err))
		}
		bounds, counts = m.Buckets, c
	}
	if len(bounds) > events.MaxBuckets {
		return events.Observation{}, "", shapeError(m, "histogram has %d bounds, more than %d; declare coarser buckets", len(bounds), events.MaxBuckets)
	}
	return events.Histogram(bounds, counts), "", nil
}

func shapeError(m events.MetricSpec, format string, args ...any) error {
	return events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("metric %q: query %s", m.Name, fmt.Sprintf(format, args...)))
}
