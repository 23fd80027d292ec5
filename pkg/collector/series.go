package collector

import (
	"math"
	"strconv"

	"github.com/prometheus/common/model"
)

// counterReading is one counter selection read at a window's two ends.
type counterReading struct {
	start, end model.Vector
}

// increments returns how much each series grew in the window. A series is
// matched across the two readings by its full label set. It grew by
// end-start; by end when it decreased (the process restarted and the
// counter began again from zero, the rule Prometheus's increase() uses); by
// end when it was not there at the start (a new pod or a first request with
// a new status code: OpenTelemetry counters start at zero when their series
// is created). A series seen only at the start has ended and grew by
// nothing. Increments are therefore attributed to the window in which they
// were scraped, which makes consecutive windows add up exactly.
func (r counterReading) increments() []model.Sample {
	before := make(map[model.Fingerprint]float64, len(r.start))
	for _, s := range r.start {
		if v := float64(s.Value); !math.IsNaN(v) {
			before[s.Metric.Fingerprint()] = v
		}
	}
	out := make([]model.Sample, 0, len(r.end))
	for _, s := range r.end {
		v := float64(s.Value)
		if math.IsNaN(v) {
			continue
		}
		inc := v
		if b, ok := before[s.Metric.Fingerprint()]; ok && v >= b {
			inc = v - b
		}
		out = append(out, model.Sample{Metric: s.Metric, Value: model.SampleValue(inc)})
	}
	return out
}

// byRevision sums the increments of each revision's series.
func byRevision(incs []model.Sample, revisionLabel string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range incs {
		if rev := string(s.Metric[model.LabelName(revisionLabel)]); rev != "" {
			out[rev] += float64(s.Value)
		}
	}
	return out
}

// bucketsByRevision sums bucket increments per revision and upper bound
// (the le label, +Inf included); series with an unreadable le are ignored.
func bucketsByRevision(incs []model.Sample, revisionLabel string) map[string]map[float64]float64 {
	out := map[string]map[float64]float64{}
	for _, s := range incs {
		rev := string(s.Metric[model.LabelName(revisionLabel)])
		le, err := strconv.ParseFloat(string(s.Metric[model.BucketLabel]), 64)
		if rev == "" || err != nil || math.IsNaN(le) {
			continue
		}
		if out[rev] == nil {
			out[rev] = map[float64]float64{}
		}
		out[rev][le] += float64(s.Value)
	}
	return out
}

// revisionsIn returns the revisions that have at least one series in v.
func revisionsIn(v model.Vector, revisionLabel string) map[string]bool {
	out := map[string]bool{}
	for _, s := range v {
		if rev := string(s.Metric[model.LabelName(revisionLabel)]); rev != "" {
			out[rev] = true
		}
	}
	return out
}

// count converts a summed counter increment to a whole number of events.
// Counters of events are integers; rounding only removes the float noise of
// differencing.
func count(v float64) int64 {
	if v <= 0 || math.IsNaN(v) {
		return 0
	}
	return int64(math.Round(v))
}
