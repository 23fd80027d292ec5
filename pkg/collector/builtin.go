package collector

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/common/model"

	"github.com/iter8-knative/iter8/events"
)

// builtins holds the built-in metrics' increments over one window, per
// revision.
type builtins struct {
	names Names
	// present and presentCount list the revisions Prometheus has series
	// of Requests and of LatencyCount for.
	present      map[string]bool
	presentCount map[string]bool
	requests     map[string]float64
	failed       map[string]float64
	count        map[string]float64
	sum          map[string]float64
	buckets      map[string]map[float64]float64
	// seenBuckets lists the revisions with bucket series.
	seenBuckets map[string]bool
}

// readBuiltins reads, at both ends of the window, the counters that the
// spec's built-in metrics need, and nothing else.
func (c *Collector) readBuiltins(ctx context.Context, w window, spec events.ExperimentSpec) (builtins, error) {
	b := builtins{names: c.names}
	var needErrors, needMean, needHist bool
	for _, m := range spec.Metrics {
		switch SourceOf(m) {
		case SourceErrors:
			needErrors = true
		case SourceLatency:
			needHist = true
			needMean = needMean || m.Type == events.MetricMean
		}
	}
	n := c.names
	// The OTel names count requests with the latency histogram's _count:
	// one reading serves both.
	type reading struct {
		end  model.Vector
		incs []model.Sample
	}
	done := map[string]reading{}
	read := func(metric, extra string) (model.Vector, []model.Sample, error) {
		promql := n.lastValues(metric, extra, w.ns, w.versions, c.lookbackFor(w))
		if r, ok := done[promql]; ok {
			return r.end, r.incs, nil
		}
		var r counterReading
		for _, at := range []struct {
			t   time.Time
			dst *model.Vector
		}{{w.from, &r.start}, {w.to, &r.end}} {
			v, err := c.query(ctx, metric, promql, at.t)
			if err != nil {
				return nil, nil, err
			}
			vec, ok := v.(model.Vector)
			if !ok {
				return nil, nil, events.Transient(http.StatusBadGateway, fmt.Errorf("prometheus query for %s (%s): got a %s, want an instant vector", metric, promql, v.Type()))
			}
			*at.dst = vec
		}
		done[promql] = reading{r.end, r.increments()}
		return r.end, done[promql].incs, nil
	}
	if needErrors {
		end, incs, err := read(n.Requests, "")
		if err != nil {
			return b, err
		}
		b.present, b.requests = revisionsIn(end, n.RevisionLabel), byRevision(incs, n.RevisionLabel)
		if _, incs, err = read(n.Requests, n.ErrorMatcher); err != nil {
			return b, err
		}
		b.failed = byRevision(incs, n.RevisionLabel)
	}
	if needMean {
		end, incs, err := read(n.LatencyCount, "")
		if err != nil {
			return b, err
		}
		b.presentCount, b.count = revisionsIn(end, n.RevisionLabel), byRevision(incs, n.RevisionLabel)
		if _, incs, err = read(n.LatencySum, ""); err != nil {
			return b, err
		}
		b.sum = byRevision(incs, n.RevisionLabel)
	}
	if needHist {
		end, incs, err := read(n.LatencyBucket, "")
		if err != nil {
			return b, err
		}
		b.seenBuckets, b.buckets = revisionsIn(end, n.RevisionLabel), bucketsByRevision(incs, n.RevisionLabel)
	}
	return b, nil
}

// noSeries is the reason a revision Prometheus knows nothing about is
// missing: not scraped (yet), wrongly labelled, or never served.
func noSeries(metric string) string {
	return fmt.Sprintf("Prometheus has no %s series for the revision", metric)
}

// errors observes the built-in error ratio: successes are the failed
// requests (ErrorMatcher), trials all requests, so that the ratio is the
// error rate an upper limit bounds.
func (b builtins) errors(rev string) (events.Observation, string) {
	if !b.present[rev] {
		return events.Observation{}, noSeries(b.names.Requests)
	}
	trials := count(b.requests[rev])
	if trials == 0 {
		return events.Observation{}, "no requests in the window"
	}
	return events.Ratio(min(count(b.failed[rev]), trials), trials), ""
}

// latency observes the built-in latency of metric m: a histogram for a
// quantile metric, and for a mean metric the exact count and sum with the
// sum of squares estimated from the buckets (see sumSquares). Values are
// converted into m's unit.
func (b builtins) latency(m events.MetricSpec, rev string) (events.Observation, string, error) {
	scale, err := latencyScale(b.names.LatencyUnit, m.Unit)
	if err != nil {
		return events.Observation{}, "", events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("metric %q: %w", m.Name, err))
	}
	if m.Type == events.MetricQuantile {
		if !b.seenBuckets[rev] {
			return events.Observation{}, noSeries(b.names.LatencyBucket), nil
		}
		return histogramObservation(m, b.buckets[rev], 0, scale)
	}
	if !b.presentCount[rev] {
		return events.Observation{}, noSeries(b.names.LatencyCount), nil
	}
	n := count(b.count[rev])
	if n == 0 {
		return events.Observation{}, "no requests in the window", nil
	}
	if !b.seenBuckets[rev] {
		return events.Observation{}, noSeries(b.names.LatencyBucket) + " (needed for the variance)", nil
	}
	bounds, counts := perBucket(b.buckets[rev], b.count[rev])
	bounds = scaled(bounds, scale)
	sum := b.sum[rev] * scale
	return events.Mean(n, sum, sumSquares(bounds, counts, n, sum)), "", nil
}
