package events

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Ratio returns a ratio observation: successes out of trials.
func Ratio(successes, trials int64) Observation {
	return Observation{Successes: &successes, Trials: &trials}
}

// Mean returns a mean observation from the count, sum and sum of squares of
// the values observed, the sufficient statistics of a normal model.
func Mean(count int64, sum, sumSquares float64) Observation {
	return Observation{Count: &count, Sum: &sum, SumSquares: &sumSquares}
}

// Histogram returns a quantile observation. Bounds are bucket upper bounds;
// counts are per bucket (not cumulative) with one extra overflow bucket.
// The slices are copied so the caller may reuse them.
func Histogram(bounds []float64, counts []int64) Observation {
	return Observation{Bounds: slices.Clone(bounds), Counts: slices.Clone(counts)}
}

// NewWindow returns the window [start, end), checked.
func NewWindow(start, end time.Time) (Window, error) {
	w := Window{Start: Time{start}, End: Time{end}}
	var errs FieldErrors
	w.validate("window", &errs)
	return w, errs.Err()
}

// NewMetricsObserved returns an empty MetricsObserved for the window
// [start, end); add observations with Set.
func NewMetricsObserved(start, end time.Time) MetricsObserved {
	return MetricsObserved{
		Window:   Window{Start: Time{start}, End: Time{end}},
		Versions: map[string]map[string]Observation{},
	}
}

// Set records the observation of one metric of one version.
func (m *MetricsObserved) Set(version, metric string, o Observation) {
	if m.Versions == nil {
		m.Versions = map[string]map[string]Observation{}
	}
	if m.Versions[version] == nil {
		m.Versions[version] = map[string]Observation{}
	}
	m.Versions[version][metric] = o
}

// Type infers the metric type from the fields that are set. It fails when
// no field is set, or when fields of more than one type are.
func (o Observation) Type() (string, error) {
	var errs FieldErrors
	t := o.inferType("", &errs)
	return t, errs.Err()
}

// fieldGroups lists each metric type's fields in JSON order, so that type
// inference and messages agree with the JSON Schema's three shapes.
func (o Observation) fieldGroups() map[string][]string {
	g := map[string][]string{}
	add := func(typ, name string, set bool) {
		if set {
			g[typ] = append(g[typ], name)
		}
	}
	add(MetricRatio, "successes", o.Successes != nil)
	add(MetricRatio, "trials", o.Trials != nil)
	add(MetricMean, "count", o.Count != nil)
	add(MetricMean, "sum", o.Sum != nil)
	add(MetricMean, "sumSquares", o.SumSquares != nil)
	add(MetricQuantile, "bounds", o.Bounds != nil)
	add(MetricQuantile, "counts", o.Counts != nil)
	return g
}

func (o Observation) inferType(path string, errs *FieldErrors) string {
	g := o.fieldGroups()
	switch len(g) {
	case 0:
		errs.Add(path, "empty observation: set successes and trials (ratio), count, sum and sumSquares (mean), or bounds and counts (quantile)")
		return ""
	case 1:
		for t := range g {
			return t
		}
	}
	var parts []string
	for _, t := range []string{MetricRatio, MetricMean, MetricQuantile} {
		if f, ok := g[t]; ok {
			parts = append(parts, t+" ("+strings.Join(f, ", ")+")")
		}
	}
	errs.Add(path, "matches no metric type: mixes fields of %s", strings.Join(parts, " and "))
	return ""
}

// Validate checks the observation as a metric of type metricType, or of the
// type its fields imply when metricType is "". Paths in the error are
// relative to the observation.
func (o Observation) Validate(metricType string) error {
	var errs FieldErrors
	o.validate("", metricType, &errs)
	return errs.Err()
}

func (o Observation) validate(path, metricType string, errs *FieldErrors) {
	if metricType == "" {
		metricType = o.inferType(path, errs)
		if metricType == "" {
			return
		}
	}
	g := o.fieldGroups()
	for _, t := range []string{MetricRatio, MetricMean, MetricQuantile} {
		if t == metricType {
			continue
		}
		for _, f := range g[t] {
			errs.Add(Field(path, f), "not a field of a %s metric", metricType)
		}
	}
	switch metricType {
	case MetricRatio:
		o.validateRatio(path, errs)
	case MetricMean:
		o.validateMean(path, errs)
	case MetricQuantile:
		o.validateHistogram(path, errs)
	default:
		errs.Add(path, "unknown metric type %q: want ratio, mean or quantile", metricType)
	}
}

func checkCount(path string, v *int64, errs *FieldErrors) bool {
	switch {
	case v == nil:
		errs.Add(path, "required")
	case *v < 0:
		errs.Add(path, "must be >= 0, got %d", *v)
	case *v > MaxCount:
		errs.Add(path, "must be <= 2^53, got %d", *v)
	default:
		return true
	}
	return false
}

func checkFinite(path string, v *float64, errs *FieldErrors) bool {
	switch {
	case v == nil:
		errs.Add(path, "required")
	case math.IsNaN(*v) || math.IsInf(*v, 0):
		errs.Add(path, "must be a finite number, got %v", *v)
	default:
		return true
	}
	return false
}

func (o Observation) validateRatio(path string, errs *FieldErrors) {
	okS := checkCount(Field(path, "successes"), o.Successes, errs)
	okT := checkCount(Field(path, "trials"), o.Trials, errs)
	if okS && okT && *o.Successes > *o.Trials {
		errs.Add(Field(path, "successes"), "must be <= trials (%d), got %d", *o.Trials, *o.Successes)
	}
}

// varianceSlack tolerates the rounding of sums of squares accumulated in
// float64 when checking that the implied variance is not negative.
const varianceSlack = 1e-9

func (o Observation) validateMean(path string, errs *FieldErrors) {
	okC := checkCount(Field(path, "count"), o.Count, errs)
	okS := checkFinite(Field(path, "sum"), o.Sum, errs)
	okQ := checkFinite(Field(path, "sumSquares"), o.SumSquares, errs)
	if okQ && *o.SumSquares < 0 {
		errs.Add(Field(path, "sumSquares"), "must be >= 0, got %v", *o.SumSquares)
		return
	}
	if !okC || !okS || !okQ {
		return
	}
	n, sum, ss := float64(*o.Count), *o.Sum, *o.SumSquares
	if n == 0 {
		if sum != 0 || ss != 0 {
			errs.Add(path, "count is 0 but sum or sumSquares is not")
		}
		return
	}
	// Cauchy-Schwarz: sum^2 <= n*sumSquares, else the variance is negative
	// and no set of values could have produced these sums. Comparing means
	// avoids overflowing sum^2 for large but legal values.
	mean := sum / n
	if mean*mean > ss/n*(1+varianceSlack)+math.SmallestNonzeroFloat64 {
		errs.Add(Field(path, "sumSquares"), "too small for sum and count: implies a negative variance")
	}
}

func (o Observation) validateHistogram(path string, errs *FieldErrors) {
	bp, cp := Field(path, "bounds"), Field(path, "counts")
	checkLen(bp, o.Bounds == nil, len(o.Bounds), "bound", 1, MaxBuckets, errs)
	// Paths are built only for failures: histograms are the bulk of a
	// large window.
	for i, b := range o.Bounds {
		switch {
		case math.IsNaN(b) || math.IsInf(b, 0):
			errs.Add(Index(bp, i), "must be a finite number, got %v", b)
		case i > 0 && !(b > o.Bounds[i-1]):
			errs.Add(Index(bp, i), "bounds must be strictly increasing: %v follows %v", b, o.Bounds[i-1])
		}
	}
	if o.Counts == nil {
		errs.Add(cp, "required")
		return
	}
	if o.Bounds != nil && len(o.Counts) != len(o.Bounds)+1 {
		errs.Add(cp, "must have len(bounds)+1 = %d elements (the last counts values above the last bound), got %d", len(o.Bounds)+1, len(o.Counts))
	}
	if len(o.Counts) > MaxBuckets+1 {
		errs.Add(cp, "must have at most %d elements, got %d", MaxBuckets+1, len(o.Counts))
		return
	}
	var total int64
	for i, c := range o.Counts {
		switch {
		case c < 0:
			errs.Add(Index(cp, i), "must be >= 0, got %d", c)
		case c > MaxCount:
			errs.Add(Index(cp, i), "must be <= 2^53, got %d", c)
		default:
			total += c // at most 257 * 2^53, far below 2^63
		}
	}
	if total > MaxCount {
		errs.Add(cp, "total must be <= 2^53, got %d", total)
	}
}

func (w Window) validate(path string, errs *FieldErrors) {
	if w.Start.IsZero() && w.End.IsZero() {
		errs.Add(path, "required")
		return
	}
	ok := true
	if w.Start.IsZero() {
		errs.Add(Field(path, "start"), "required")
		ok = false
	}
	if w.End.IsZero() {
		errs.Add(Field(path, "end"), "required")
		ok = false
	}
	if ok && !w.End.After(w.Start.Time) {
		errs.Add(Field(path, "end"), "must be after start (%s), got %s",
			w.Start.UTC().Format(time.RFC3339Nano), w.End.UTC().Format(time.RFC3339Nano))
	}
}

// Validate checks the window: both ends set, end after start.
func (w Window) Validate() error {
	var errs FieldErrors
	w.validate("window", &errs)
	return errs.Err()
}
