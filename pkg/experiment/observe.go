package experiment

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// dataPath is the root of the paths in errors about an event: its data.
const dataPath = "data"

// Observe folds one window of observations into the experiment, assesses
// it (seeded by the experiment id and iteration), and decides. While
// Paused it folds and assesses but decides nothing and moves no traffic.
//
// It refuses, leaving st as it was: a spec st does not belong to
// (ErrStateMismatch), an experiment not Running or Paused (ErrNotRunning),
// and a window that ends before it starts, unknown versions or metrics,
// statistics of the wrong metric type or impossible values
// (ErrInvalidObservation, with field paths into the event's data). Windows
// may arrive in any order and overlap: they come from several senders, and
// folding each event once is the store's job. A version or metric missing from a
// window simply had no data in it.
//
// Result.Emit holds events.Assessed, then events.TrafficChanged when the
// split moves, then events.Completed when the experiment ends.
func (e Engine) Observe(spec events.ExperimentSpec, st State, obs events.MetricsObserved, now time.Time) (State, Result, error) {
	spec, err := prepare(spec, st)
	if err != nil {
		return st, Result{}, err
	}
	now = instant(now)
	if err := checkWindow(st, obs.Window); err != nil {
		return st, Result{}, err
	}
	data, err := fold(spec, st, obs)
	if err != nil {
		return st, Result{}, err
	}
	ev, err := foldEvidence(spec, st, obs)
	if err != nil {
		return st, Result{}, err
	}
	next := st.clone()
	next.Data, next.Evidence = data, ev
	if end := instant(obs.Window.End.Time); end.After(next.WindowEnd.Time) {
		next.WindowEnd = events.Time{Time: end}
	}
	next.Iteration++
	next.Updated = events.Time{Time: now}

	assess := e.assess
	if assess == nil {
		assess = stats.Assess
	}
	prob := Problem(spec, e.draws, seed(st.ID, next.Iteration))
	prob.Evidence = next.Evidence
	a, err := assess(prob, next.Data, next.excludedSet())
	if err != nil {
		return st, Result{}, fmt.Errorf("experiment %q iteration %d: %w: %w", st.ID, next.Iteration, ErrAssess, err)
	}
	if err := checkAssessment(a, len(next.Versions), len(spec.Metrics), len(spec.Objectives)); err != nil {
		return st, Result{}, fmt.Errorf("experiment %q iteration %d: %w: %w", st.ID, next.Iteration, ErrAssess, err)
	}
	samples := VersionSamples(spec, next.Data)
	var d decision
	if next.Phase == PhasePaused {
		d = decision{reason: "paused: assessing without deciding; traffic frozen"}
	} else {
		d = decide(spec, &next, a, samples)
		if !d.done {
			if lim, hit := limits(spec, next, samples, now); hit {
				d = lim
			}
		}
	}
	next.Last = snapshot(spec, next, a, d.reason)
	return finish(spec, next, d, now, &a, samples)
}

// checkWindow checks the window itself. It does not compare it with earlier
// windows: windows come from several senders (the metrics collector, the
// application's own conversion events) and may arrive out of order or
// overlap. Exactly-once folding is the store's job, by each event's
// CloudEvents source and id.
func checkWindow(st State, w events.Window) error {
	var errs events.FieldErrors
	path := events.Field(dataPath, "window")
	if !w.End.After(w.Start.Time) {
		errs.Add(path, "must end after it starts, got [%s, %s)", w.Start.Format(time.RFC3339Nano), w.End.Format(time.RFC3339Nano))
		return fmt.Errorf("experiment %q: %w: %w", st.ID, ErrInvalidObservation, errs.Err())
	}
	return nil
}

// fold returns st's data with obs added, or every problem with obs.
func fold(spec events.ExperimentSpec, st State, obs events.MetricsObserved) ([][]stats.Data, error) {
	vIndex := indexOf(st.Versions)
	mIndex := make(map[string]int, len(spec.Metrics))
	for j, m := range spec.Metrics {
		mIndex[m.Name] = j
	}
	data := st.clone().Data
	var errs events.FieldErrors
	vpath := events.Field(dataPath, "versions")
	for _, v := range slices.Sorted(maps.Keys(obs.Versions)) {
		i, ok := vIndex[v]
		if !ok {
			errs.Add(events.Key(vpath, v), "unknown version %q; the experiment's versions are %s", v, strings.Join(st.Versions, ", "))
			continue
		}
		metrics := obs.Versions[v]
		for _, m := range slices.Sorted(maps.Keys(metrics)) {
			path := events.Key(events.Key(vpath, v), m)
			j, ok := mIndex[m]
			if !ok {
				errs.Add(path, "unknown metric %q", m)
				continue
			}
			ms := spec.Metrics[j]
			d, ok := toData(&errs, path, ms, metrics[m])
			if !ok {
				continue
			}
			if err := data[i][j].Merge(KindOf(ms.Type), d); err != nil {
				errs.Add(path, "cannot add to the data so far: %v", err)
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("experiment %q: %w: %w", st.ID, ErrInvalidObservation, err)
	}
	return data, nil
}

// toData checks one observation against its metric's type and converts it
// to sufficient statistics; ok is false after errors were added.
func toData(errs *events.FieldErrors, path string, m events.MetricSpec, o events.Observation) (stats.Data, bool) {
	n := len(*errs)
	ratio := o.Successes != nil || o.Trials != nil
	mean := o.Count != nil || o.Sum != nil || o.SumSquares != nil
	hist := o.Bounds != nil || o.Counts != nil
	wrong := func(fields string) {
		errs.Add(path, "metric %q is %s: it takes %s", m.Name, m.Type, fields)
	}
	var d stats.Data
	switch m.Type {
	case events.MetricRatio:
		if mean || hist || o.Successes == nil || o.Trials == nil {
			wrong("successes and trials")
			break
		}
		s, t := *o.Successes, *o.Trials
		if s < 0 || t < s {
			errs.Add(path, "need 0 <= successes <= trials, got %d successes in %d trials", s, t)
		}
		d = stats.Data{Successes: float64(s), Trials: float64(t)}
	case events.MetricMean:
		if ratio || hist || o.Count == nil || (*o.Count > 0 && (o.Sum == nil || o.SumSquares == nil)) {
			wrong("count, sum and sumSquares")
			break
		}
		c := *o.Count
		if c < 0 {
			errs.Add(events.Field(path, "count"), "must be >= 0, got %d", c)
			break
		}
		if c == 0 {
			break
		}
		sum, sq := *o.Sum, *o.SumSquares
		switch {
		case !finite(sum) || !finite(sq):
			errs.Add(path, "sum and sumSquares must be finite, got %v and %v", sum, sq)
		case sum*sum > float64(c)*sq*(1+1e-9)+1e-12:
			// Cauchy-Schwarz: a negative variance is a broken producer.
			errs.Add(events.Field(path, "sumSquares"), "%v is below sum²/count = %v", sq, sum*sum/float64(c))
		case !withinRange(m, float64(c), sum, sq):
			lo, hi := m.Range()
			errs.Add(path, "count %d, sum %v and sumSquares %v cannot come from values in [%v, %v], the range metric %q declares (min, max; see docs/statistics.md): its mean verdicts assume it",
				c, sum, sq, lo, hi, m.Name)
		default:
			d = stats.FromMoments(float64(c), sum, sq)
		}
	case events.MetricQuantile:
		if ratio || mean || len(o.Bounds) == 0 {
			wrong("bounds and counts")
			break
		}
		if len(o.Counts) != len(o.Bounds)+1 {
			errs.Add(events.Field(path, "counts"), "want %d counts for %d bounds (one per bucket and one above the last bound), got %d",
				len(o.Bounds)+1, len(o.Bounds), len(o.Counts))
			break
		}
		for k, b := range o.Bounds {
			if !finite(b) || (k > 0 && b <= o.Bounds[k-1]) {
				errs.Add(events.Index(events.Field(path, "bounds"), k), "bounds must be finite and strictly increasing, got %v", b)
			}
		}
		d = stats.Data{Bounds: slices.Clone(o.Bounds), Counts: make([]float64, len(o.Counts))}
		for k, c := range o.Counts {
			if c < 0 {
				errs.Add(events.Index(events.Field(path, "counts"), k), "must be >= 0, got %d", c)
			}
			d.Counts[k] = float64(c)
		}
	}
	return d, len(*errs) == n
}

// checkAssessment guards against an assessor whose shape does not match
// the problem, which would otherwise panic deep in the decision logic.
func checkAssessment(a stats.Assessment, versions, metrics, objectives int) error {
	if len(a.Versions) != versions {
		return fmt.Errorf("assessment has %d versions, want %d", len(a.Versions), versions)
	}
	for i, v := range a.Versions {
		if len(v.Metrics) != metrics || len(v.ObjectiveVerdicts) != objectives || len(v.ObjectiveProbs) != objectives {
			return fmt.Errorf("assessment of version %d has %d metrics, %d verdicts and %d probabilities, want %d, %d and %d",
				i, len(v.Metrics), len(v.ObjectiveVerdicts), len(v.ObjectiveProbs), metrics, objectives, objectives)
		}
	}
	return nil
}

// Problem is the spec in the statistics engine's terms, as every assessment
// of the engine sees it; the simulator's baseline policies use it too.
func Problem(spec events.ExperimentSpec, draws int, seed uint64) stats.Problem {
	p := stats.Problem{Confidence: spec.Confidence, Draws: draws, Seed: seed,
		BaselineUnjudged: spec.Kind == events.KindCanary}
	idx := make(map[string]int, len(spec.Metrics))
	for j, m := range spec.Metrics {
		idx[m.Name] = j
		sm := stats.Metric{Name: m.Name, Kind: KindOf(m.Type), Q: m.Quantile}
		if sm.Kind == stats.Mean {
			sm.Lo, sm.Hi = m.Range()
		}
		p.Metrics = append(p.Metrics, sm)
	}
	for _, o := range spec.Objectives {
		so := stats.Objective{Metric: idx[o.Metric]}
		so.Upper, so.Limit, so.Relative = o.Limit()
		p.Objectives = append(p.Objectives, so)
	}
	if spec.Reward != nil {
		p.Reward = &stats.Reward{Metric: idx[spec.Reward.Metric], Maximize: spec.Reward.Direction != events.DirectionMinimize}
	}
	return p
}

// KindOf is the statistics engine's model of a spec metric type.
func KindOf(metricType string) stats.Kind {
	switch metricType {
	case events.MetricRatio:
		return stats.Ratio
	case events.MetricMean:
		return stats.Mean
	}
	return stats.Quantile
}

// VersionSamples counts each version's requests: the most observations of
// any of its metrics, since one request may not report every metric.
func VersionSamples(spec events.ExperimentSpec, data [][]stats.Data) []float64 {
	out := make([]float64, len(data))
	for i, row := range data {
		for j, d := range row {
			out[i] = math.Max(out[i], d.Samples(KindOf(spec.Metrics[j].Type)))
		}
	}
	return out
}

func indexOf(list []string) map[string]int {
	m := make(map[string]int, len(list))
	for i, v := range list {
		m[v] = i
	}
	return m
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// withinRange reports whether a window's count, sum and sum of squares can
// come from values in the metric's range [lo, hi]: the mean must lie in it
// and, with both ends finite, Σ(x−lo)(hi−x) >= 0, i.e.
// (lo+hi)·sum − sumSquares − n·lo·hi >= 0. It cannot see every value, but a
// value far beyond the range shows; the tolerance absorbs rounding.
func withinRange(m events.MetricSpec, n, sum, sq float64) bool {
	lo, hi := m.Range()
	mean := sum / n
	tol := 1e-9 * (math.Abs(mean) + math.Abs(lo) + math.Abs(hi))
	if mean < lo-tol || mean > hi+tol {
		return false
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return true
	}
	slack := (lo+hi)*sum - sq - n*lo*hi
	return slack >= -1e-9*(math.Abs((lo+hi)*sum)+math.Abs(sq)+math.Abs(n*lo*hi))
}
