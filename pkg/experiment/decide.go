package experiment

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// decision is what one step decided.
type decision struct {
	done    bool
	outcome string
	winner  string
	// reason is for people: the Completed reason, or the Assessed
	// decision when the experiment goes on.
	reason string
	// traffic is the new split by version index; nil keeps the current.
	traffic []int
}

// banditFloor is the least share of every arm a bandit keeps alive:
// min(5, 100/(2K)) for K versions, so floors never take more than half the
// traffic and a falsely dismissed arm can still recover.
func banditFloor(versions int) int { return min(5, 100/(2*versions)) }

func decide(spec events.ExperimentSpec, st *State, a stats.Assessment, samples []float64) decision {
	switch spec.Kind {
	case events.KindCanary:
		return decideCanary(spec, *st, a, samples)
	case events.KindAB, events.KindABN:
		return decideBandit(spec, st, a, samples)
	}
	return decidePerformance(spec, *st, a, samples)
}

// decideCanary rolls back as soon as the candidate is shown to violate an
// objective, even before minSamples (safety first), promotes once it is
// shown to meet them all with minSamples, and otherwise (minSamples or
// not) ramps it up: by
// maxIncrement points when every objective holds on the point estimates
// (meetsByEstimate), else, with P = P(all objectives hold), by
// round(maxIncrement·(2P−1)) points when P > 1/2; up to
// maxCandidatePercent, never down.
func decideCanary(spec events.ExperimentSpec, st State, a stats.Assessment, samples []float64) decision {
	const c = 1
	name, vr := st.Versions[c], a.Versions[c]
	minSamples := float64(spec.Limits.MinSamples)
	switch {
	case vr.Verdict == stats.Violated:
		return failure(spec, st, events.OutcomeRolledBack, fmt.Sprintf("%s violates %s", name, violations(spec, vr)))
	case len(undecidable(spec, st, c, vr)) > 0:
		return failure(spec, st, events.OutcomeRolledBack, fmt.Sprintf("%s not shown satisfied, and the histogram cannot show it: %s", name, strings.Join(undecidable(spec, st, c, vr), "; ")))
	case samples[c] >= minSamples && vr.Verdict == stats.Satisfied:
		return success(spec, st, c, fmt.Sprintf("%s meets every objective", name))
	}
	p := vr.ProbFeasible
	held := decision{reason: fmt.Sprintf("%s P(objectives)=%.3f; waiting for a verdict", name, p)}
	if samples[c] < minSamples {
		held.reason = fmt.Sprintf("waiting for minSamples: %s has %s of %d", name, count(samples[c]), spec.Limits.MinSamples)
	}
	estimated := meetsByEstimate(spec, st, a, c)
	if spec.Traffic.Strategy == events.StrategyFixed || !(p > 0.5 || estimated) {
		return held
	}
	cur := st.trafficList()
	step := int(math.Round(float64(*spec.Traffic.MaxIncrement) * (2*p - 1)))
	if estimated {
		// Flagger's ramp: every objective holds on the data so far, so
		// the candidate takes a full step; a violation still rolls it
		// back as soon as it is shown, whatever its share.
		step = *spec.Traffic.MaxIncrement
	}
	to := min(cur[c]+step, *spec.Traffic.MaxCandidatePercent)
	if to <= cur[c] {
		return held
	}
	ramp := fmt.Sprintf("ramping it from %d%% to %d%%", cur[c], to)
	if samples[c] < minSamples {
		return decision{reason: held.reason + "; " + ramp, traffic: []int{100 - to, to}}
	}
	return decision{
		reason:  fmt.Sprintf("%s P(objectives)=%.3f; %s", name, p, ramp),
		traffic: []int{100 - to, to},
	}
}

// meetsByEstimate reports whether version v meets every objective on the
// point estimates of its data so far: the observed rate or mean, the
// posterior mean of a quantile; a relative limit against the baseline's
// estimate. It steers the ramp only; verdicts decide.
func meetsByEstimate(spec events.ExperimentSpec, st State, a stats.Assessment, v int) bool {
	idx := make(map[string]int, len(spec.Metrics))
	for j, m := range spec.Metrics {
		idx[m.Name] = j
	}
	estimate := func(i, j int) float64 {
		d := st.Data[i][j]
		switch KindOf(spec.Metrics[j].Type) {
		case stats.Ratio:
			return d.Successes / d.Trials
		case stats.Mean:
			if d.Count == 0 {
				return math.NaN()
			}
			return d.Mu
		}
		return a.Versions[i].Metrics[j].Mean
	}
	for _, o := range spec.Objectives {
		j := idx[o.Metric]
		upper, limit, relative := o.Limit()
		if relative {
			limit *= estimate(0, j)
		}
		x := estimate(v, j)
		if !(upper && x <= limit || !upper && x >= limit) {
			return false
		}
	}
	return true
}

// decideBandit excludes every version shown to violate an objective, for
// good; rolls back when no candidate is left; promotes the version shown
// best (Assessment.Best) once it is shown to meet every objective and
// every version not excluded has minSamples; and otherwise moves traffic:
// in proportion to the top-two Thompson allocation with bandit (fastest to
// a decision), to P(best) with earn (Thompson sampling: the leader earns
// while learning), or back to the initial split with fixed. The decision
// rules hold under any of them, since they hold under any allocation
// computed from past data.
func decideBandit(spec events.ExperimentSpec, st *State, a stats.Assessment, samples []float64) decision {
	n := len(st.Versions)
	excluded := st.excludedSet()
	var notes []string
	for i, vr := range a.Versions {
		if vr.Verdict == stats.Violated && !excluded[i] {
			excluded[i] = true
			notes = append(notes, fmt.Sprintf("excluded %s: violates %s", st.Versions[i], violations(spec, vr)))
		}
	}
	st.Excluded = nil
	for i, v := range st.Versions {
		if excluded[i] {
			st.Excluded = append(st.Excluded, v)
		}
	}
	if !slices.Contains(excluded[1:], false) {
		return failure(spec, *st, events.OutcomeRolledBack, join("every candidate violates an objective", notes))
	}
	minSamples := float64(spec.Limits.MinSamples)
	var short []string
	for i := range n {
		if !excluded[i] && samples[i] < minSamples {
			short = append(short, fmt.Sprintf("%s has %s", st.Versions[i], count(samples[i])))
		}
	}
	best := a.Best
	if best >= 0 && best < n && !excluded[best] && a.Versions[best].Verdict == stats.Satisfied && len(short) == 0 {
		return success(spec, *st, best, fmt.Sprintf("%s is best on %s and meets every objective",
			st.Versions[best], spec.Reward.Metric))
	}
	var reason string
	switch {
	case len(short) > 0:
		reason = fmt.Sprintf("waiting for minSamples %d: %s", spec.Limits.MinSamples, strings.Join(short, ", "))
	case best >= 0 && best < n && !excluded[best]:
		reason = fmt.Sprintf("%s is best on %s; waiting for its objectives", st.Versions[best], spec.Reward.Metric)
	default:
		reason = "no version shown best yet"
		if l := a.Leader; l >= 0 && l < n {
			reason += fmt.Sprintf("; leader %s P(best)=%.3f", st.Versions[l], a.Versions[l].ProbWin)
		}
	}
	w := make([]float64, n)
	floor := 0
	if s := spec.Traffic.Strategy; s == events.StrategyBandit || s == events.StrategyEarn {
		active := 0
		for i := range n {
			if !excluded[i] {
				active++
			}
		}
		for i, vr := range a.Versions {
			w[i] = vr.TopTwo
			if s == events.StrategyEarn {
				// Thompson sampling: each version in proportion to its
				// chance of being best, so the leader earns.
				w[i] = vr.ProbWin
			}
			// A version that probably violates an objective but is not
			// yet shown to still competes for best: nothing can be
			// promoted over it until it is beaten or excluded, and
			// top-two sampling, which counts only feasible draws, would
			// starve it at the floor. A weight of 1/K settles its verdict
			// in a few windows and so also limits the failing traffic.
			if !excluded[i] && vr.Verdict == stats.Undecided && vr.ProbFeasible < 0.5 {
				w[i] = max(w[i], 1/float64(active))
			}
		}
		floor = banditFloor(n)
	} else {
		for i, p := range initialSplit(spec) {
			w[i] = float64(p)
		}
	}
	x := splitIndexed(w, box{
		current: st.trafficList(), excluded: excluded, floor: floor,
		maxCand: *spec.Traffic.MaxCandidatePercent, maxInc: *spec.Traffic.MaxIncrement,
	})
	return decision{reason: join(reason, notes), traffic: x}
}

// decidePerformance passes or fails the only version on its objectives.
// A violation ends it at once; a pass needs minSamples.
func decidePerformance(spec events.ExperimentSpec, st State, a stats.Assessment, samples []float64) decision {
	name, vr := st.Versions[0], a.Versions[0]
	switch {
	case vr.Verdict == stats.Violated:
		return failure(spec, st, events.OutcomeFailedSLO, fmt.Sprintf("%s violates %s", name, violations(spec, vr)))
	case len(undecidable(spec, st, 0, vr)) > 0:
		return failure(spec, st, events.OutcomeFailedSLO, fmt.Sprintf("%s not shown satisfied, and the histogram cannot show it: %s", name, strings.Join(undecidable(spec, st, 0, vr), "; ")))
	case samples[0] < float64(spec.Limits.MinSamples):
		return decision{reason: fmt.Sprintf("waiting for minSamples: %s has %s of %d", name, count(samples[0]), spec.Limits.MinSamples)}
	case vr.Verdict == stats.Satisfied:
		return decision{done: true, outcome: events.OutcomePassed, reason: fmt.Sprintf("%s meets every objective", name)}
	}
	return decision{reason: fmt.Sprintf("%s P(objectives)=%.3f; waiting for a verdict", name, vr.ProbFeasible)}
}

// limits ends an undecided experiment at maxSamples total requests or
// maxDuration of running time (24h by default, so every experiment ends),
// with the outcome its kind owes when nothing was shown: a canary whose
// candidate is not shown to satisfy its objectives is rolled back, a
// performance test fails ("not shown satisfied"), and an A/B or A/B/n
// without a winner is inconclusive, which keeps (with onFailure rollback:
// returns all traffic to) the baseline.
func limits(spec events.ExperimentSpec, st State, samples []float64, now time.Time) (decision, bool) {
	total := 0.0
	for _, s := range samples {
		total += s
	}
	var hit string
	switch {
	case total >= float64(spec.Limits.MaxSamples):
		hit = fmt.Sprintf("maxSamples %d reached", spec.Limits.MaxSamples)
	case st.runningTime(now) >= spec.Limits.MaxDuration.Duration:
		hit = fmt.Sprintf("maxDuration %s reached", spec.Limits.MaxDuration.Duration)
	default:
		return decision{}, false
	}
	return endAtLimit(spec, st, hit), true
}

// endAtLimit is the end an undecided experiment owes at a limit (see
// limits); hit says which limit.
func endAtLimit(spec events.ExperimentSpec, st State, hit string) decision {
	switch spec.Kind {
	case events.KindCanary:
		return failure(spec, st, events.OutcomeRolledBack, fmt.Sprintf("%s: %s not shown satisfied", hit, st.Versions[1]))
	case events.KindPerformance:
		return failure(spec, st, events.OutcomeFailedSLO, fmt.Sprintf("%s: %s not shown satisfied", hit, st.Versions[0]))
	}
	return failure(spec, st, events.OutcomeInconclusive, hit+" without a decision; keeping the baseline")
}

// undecidable names the objectives of version v that no amount of data
// can decide: an absolute limit on a quantile that lies strictly inside a
// histogram bucket, when the version's quantile is shown (by its
// confidence sequence, at the verdicts' error) to lie in that same bucket.
// Bucket counts then say only that the quantile is somewhere in the
// bucket, on either side of the limit, for ever. Empty when every
// objective is decided or may still be.
func undecidable(spec events.ExperimentSpec, st State, v int, vr stats.VersionResult) []string {
	var out []string
	for k, o := range spec.Objectives {
		_, limit, relative := o.Limit()
		if relative || k >= len(vr.ObjectiveVerdicts) || vr.ObjectiveVerdicts[k] != stats.Undecided {
			continue
		}
		i := slices.IndexFunc(spec.Metrics, func(m events.MetricSpec) bool { return m.Name == o.Metric })
		if i < 0 || spec.Metrics[i].Type != events.MetricQuantile || i >= len(vr.Metrics) {
			continue
		}
		m := vr.Metrics[i]
		// The quantile lies in (CSLower, CSUpper]; a limit strictly
		// inside one bucket means neither side of it can be shown.
		oneBucket := !math.IsInf(m.CSLower, 0) && !math.IsInf(m.CSUpper, 0) && v < len(st.Data) && i < len(st.Data[v])
		if oneBucket {
			for _, b := range st.Data[v][i].Bounds {
				oneBucket = oneBucket && !(m.CSLower < b && b < m.CSUpper)
			}
		}
		if oneBucket && m.CSLower < limit && limit < m.CSUpper {
			out = append(out, fmt.Sprintf("%s (its quantile is in (%s, %s])", describe(o), count(m.CSLower), count(m.CSUpper)))
		}
	}
	return out
}

// success ends the experiment with winner promoted, moving all traffic to
// it when onSuccess is promote.
func success(spec events.ExperimentSpec, st State, winner int, reason string) decision {
	d := decision{done: true, outcome: events.OutcomePromoted, winner: st.Versions[winner], reason: reason}
	if spec.OnSuccess == events.OnSuccessPromote && spec.Kind != events.KindPerformance {
		d.traffic = all(len(st.Versions), winner)
	}
	return d
}

// failure ends the experiment without a winner, moving all traffic to the
// baseline when onFailure is rollback.
func failure(spec events.ExperimentSpec, st State, outcome, reason string) decision {
	d := decision{done: true, outcome: outcome, reason: reason}
	if spec.OnFailure == events.OnFailureRollback && spec.Kind != events.KindPerformance {
		d.traffic = all(len(st.Versions), 0)
	}
	return d
}

// all is a split with 100 on one version.
func all(n, i int) []int {
	w := make([]int, n)
	w[i] = 100
	return w
}

// violations names the objectives a version is shown to violate.
func violations(spec events.ExperimentSpec, vr stats.VersionResult) string {
	var out []string
	for k, v := range vr.ObjectiveVerdicts {
		if v == stats.Violated {
			out = append(out, describe(spec.Objectives[k]))
		}
	}
	if len(out) == 0 {
		return "an objective"
	}
	return strings.Join(out, " and ")
}

// describe writes an objective the way people read it: "errors ≤ 0.01",
// "latency ≤ 1.2× baseline".
func describe(o events.Objective) string {
	upper, limit, relative := o.Limit()
	out := o.Metric + " ≥ "
	if upper {
		out = o.Metric + " ≤ "
	}
	out += strconv.FormatFloat(limit, 'g', -1, 64)
	if relative {
		out += "× baseline"
	}
	return out
}

func count(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func join(reason string, notes []string) string {
	if len(notes) == 0 {
		return reason
	}
	return reason + "; " + strings.Join(notes, "; ")
}
