package present

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Input is one experiment as read from its Service: what the store decoded
// plus the two things only the Service holds, its live split and the
// status line.
type Input struct {
	Namespace string
	Service   string
	Spec      events.ExperimentSpec
	State     experiment.State
	// Assessment is the latest assessment (the iter8.dev/assessment
	// annotation); nil before the first window or when it was dropped to
	// fit the annotation budget.
	Assessment *events.Assessed
	// Traffic is the Service's spec.traffic in percent per revision, as
	// Knative routes it now; it may name revisions outside the experiment.
	Traffic map[string]int
	// Status is the iter8.dev/status line.
	Status string
	// ETA is the expected remaining time to a decision, simulated forward
	// from State (plan.Estimate); nil when not computed.
	ETA *plan.ETA
	// Past are the candidates of the Service's finished canaries (the
	// iter8.dev/past annotation), the prior of a canary's ETA; PastErr
	// says why an annotation present was ignored.
	Past    []experiment.Past
	PastErr error
}

// Description is everything `kn iter8 describe` shows, in the form -o json
// and -o yaml print.
type Description struct {
	Namespace string    `json:"namespace"`
	Service   string    `json:"service"`
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Phase     string    `json:"phase"`
	Outcome   string    `json:"outcome,omitempty"`
	Winner    string    `json:"winner,omitempty"`
	Leader    string    `json:"leader,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Iteration int       `json:"iteration"`
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`
	// Age is the time since the start and PhaseAge the time in the current
	// phase, both as kubectl prints ages ("25m", "3h10m").
	Age      string `json:"age"`
	PhaseAge string `json:"phaseAge"`
	// Confidence is the credible level of every interval and 1 - delta of
	// every decision.
	Confidence float64 `json:"confidence"`
	// Decision is the engine's own words on its last assessment: what it
	// decided, or which evidence it waits for.
	Decision string `json:"decision,omitempty"`
	// Next says which decision is needed next and what would make it.
	Next string `json:"next"`
	// Decidability notes every quantile limit the histogram cannot decide
	// (events.ExperimentSpec.Decidability).
	Decidability []string `json:"decidability,omitempty"`
	// Load is the built-in load generator's account, achieved against
	// requested rate (experiment.LoadStatus.Line), for an experiment with
	// a load block; LoadStatus holds its figures.
	Load       string                 `json:"load,omitempty"`
	LoadStatus *experiment.LoadStatus `json:"loadStatus,omitempty"`
	// AssessedAt is the iteration of the assessment shown, when it lags
	// the state (a control action changed the state since).
	AssessedAt *int          `json:"assessedAt,omitempty"`
	Excluded   []string      `json:"excluded,omitempty"`
	Versions   []VersionView `json:"versions"`
	// OtherTraffic is traffic Knative sends to revisions outside the
	// experiment.
	OtherTraffic map[string]int `json:"otherTraffic,omitempty"`
	Status       string         `json:"status,omitempty"`
	// ETA is the expected remaining time to a decision of a running
	// experiment, and ETAText it in words.
	ETA     *plan.ETA `json:"eta,omitempty"`
	ETAText string    `json:"etaText,omitempty"`
	// PastCanaries is how many of the Service's finished canaries a
	// canary's ETA takes as its prior (the iter8.dev/past annotation),
	// and PastIgnored why that annotation was ignored, when it was.
	PastCanaries int    `json:"pastCanaries,omitempty"`
	PastIgnored  string `json:"pastIgnored,omitempty"`
}

// PastText is the "Past canaries" line: how many, and what they are for,
// or why they were ignored; empty when the Service has none.
func (d Description) PastText() string {
	switch {
	case d.PastIgnored != "":
		return "ignored: " + d.PastIgnored
	case d.PastCanaries == 0:
		return ""
	case d.Kind == events.KindCanary && d.Phase == string(experiment.PhaseRunning):
		return fmt.Sprintf("%d (prior of the ETA)", d.PastCanaries)
	}
	// The experiment shown is no running canary: the count may include
	// it, and its prior is for the canaries to come.
	return fmt.Sprintf("%d (prior of the next canary's ETA)", d.PastCanaries)
}

// VersionView is one version of a Description.
type VersionView struct {
	Version string `json:"version"`
	// Role is "baseline" or "candidate".
	Role string `json:"role"`
	// Traffic is the percent Knative routes to the version now.
	Traffic int   `json:"traffic"`
	Samples int64 `json:"samples"`
	// The probabilities are absent where they have no meaning (no reward,
	// the baseline beating itself, no assessment yet).
	ProbBeatsBaseline *float64     `json:"probBeatsBaseline,omitempty"`
	ProbFeasible      *float64     `json:"probFeasible,omitempty"`
	ProbWin           *float64     `json:"probWin,omitempty"`
	ExpectedLoss      *float64     `json:"expectedLoss,omitempty"`
	Verdict           string       `json:"verdict,omitempty"`
	Excluded          bool         `json:"excluded,omitempty"`
	Metrics           []MetricView `json:"metrics"`
}

// MetricView is one metric of one version.
type MetricView struct {
	Metric string `json:"metric"`
	Type   string `json:"type"`
	Unit   string `json:"unit,omitempty"`
	// Mean, Lower and Upper are the posterior mean and equal-tailed
	// credible interval; absent before the version has data on the metric.
	Mean  *float64 `json:"mean,omitempty"`
	Lower *float64 `json:"lower,omitempty"`
	Upper *float64 `json:"upper,omitempty"`
	// Objective is the metric's objectives in words, such as "≤ 0.01".
	Objective     string   `json:"objective,omitempty"`
	ProbObjective *float64 `json:"probObjective,omitempty"`
	Verdict       string   `json:"verdict,omitempty"`
	// Caveat says when the interval is in a regime where its measured
	// coverage leaves 93-97% (stats.Caveat).
	Caveat string `json:"caveat,omitempty"`
}

// Describe builds the Description of in, with ages measured at now.
func Describe(in Input, now time.Time) Description {
	spec := in.Spec.Defaulted()
	st := in.State
	d := Description{
		Namespace: in.Namespace, Service: in.Service, ID: st.ID, Kind: spec.Kind,
		Phase: string(st.Phase), Outcome: st.Outcome, Winner: st.Winner, Reason: st.Reason,
		Iteration: st.Iteration, Started: st.Started.UTC(), Updated: st.Updated.UTC(),
		Age: Age(now, st.Started.Time), PhaseAge: Age(now, st.Since.Time),
		Confidence: spec.Confidence, Excluded: slices.Clone(st.Excluded),
		Status: in.Status,
	}
	if st.Last != nil {
		d.Leader, d.Decision = st.Last.Leader, st.Last.Decision
	}
	if st.Phase == experiment.PhaseCompleted || st.Phase == experiment.PhaseFailed {
		// The last assessment's words ("waiting for ...") no longer hold.
		d.Decision = st.Reason
	}
	a := in.Assessment
	if a != nil && a.Iteration != st.Iteration {
		it := a.Iteration
		d.AssessedAt = &it
	}
	byVersion := map[string]events.VersionAssessment{}
	if a != nil {
		for _, va := range a.Versions {
			byVersion[va.Version] = va
		}
		if d.Decision == "" && st.Phase != experiment.PhaseFailed {
			d.Decision = a.Decision
		}
	}
	problem := experiment.Problem(spec, 0, 0)
	for i, v := range st.Versions {
		vv := VersionView{Version: v, Role: "candidate", Traffic: in.Traffic[v], Excluded: slices.Contains(st.Excluded, v)}
		if i == 0 {
			vv.Role = "baseline"
		}
		va, assessed := byVersion[v]
		if assessed {
			vv.Samples = va.Samples
			vv.ProbBeatsBaseline, vv.ProbWin, vv.ExpectedLoss = va.ProbBeatsBaseline, va.ProbWin, va.ExpectedLoss
			vv.ProbFeasible = ptr(va.ProbFeasible)
			vv.Verdict = va.Verdict
		}
		for j, m := range spec.Metrics {
			mv := MetricView{Metric: m.Name, Type: m.Type, Unit: m.Unit, Objective: ObjectiveText(spec, m.Name)}
			if ma, ok := metricOf(va, m.Name); assessed && ok {
				if hasData(st, i, j) {
					// Absent numbers are unknown or unbounded (a quantile
					// beyond the histogram's last bound).
					mv.Mean, mv.Lower, mv.Upper = ma.Mean, ma.Lower, ma.Upper
					mv.Caveat = stats.Caveat(problem.Metrics[j], st.Data[i][j])
				}
				mv.ProbObjective, mv.Verdict = ma.ProbObjective, ma.Verdict
			}
			vv.Metrics = append(vv.Metrics, mv)
		}
		d.Versions = append(d.Versions, vv)
	}
	for rev, pct := range in.Traffic {
		if !slices.Contains(st.Versions, rev) && pct > 0 {
			if d.OtherTraffic == nil {
				d.OtherTraffic = map[string]int{}
			}
			d.OtherTraffic[rev] = pct
		}
	}
	d.Next = next(in, spec, now)
	if in.ETA != nil && st.Phase == experiment.PhaseRunning {
		d.ETA, d.ETAText = in.ETA, ETAText(*in.ETA)
	}
	d.PastCanaries = len(in.Past)
	if in.PastErr != nil {
		d.PastIgnored = in.PastErr.Error()
	}
	d.Decidability = spec.Decidability()
	if spec.Load != nil {
		d.Load, d.LoadStatus = st.Load.Line(), st.Load
	}
	return d
}

func metricOf(va events.VersionAssessment, name string) (events.MetricAssessment, bool) {
	for _, m := range va.Metrics {
		if m.Metric == name {
			return m, true
		}
	}
	return events.MetricAssessment{}, false
}

// hasData reports whether version i has observations of metric j: the
// assessment writes 0 for the mean of a metric without data, which must
// not read as a measured zero.
func hasData(st experiment.State, i, j int) bool {
	if i >= len(st.Data) || j >= len(st.Data[i]) {
		return false
	}
	d := st.Data[i][j]
	if d.Trials > 0 || d.Count > 0 {
		return true
	}
	for _, c := range d.Counts {
		if c > 0 {
			return true
		}
	}
	return false
}

// next says what decision the experiment needs next and what would make it.
func next(in Input, spec events.ExperimentSpec, now time.Time) string {
	st := in.State
	switch st.Phase {
	case experiment.PhaseCompleted:
		what := st.Outcome
		if st.Winner != "" {
			what += " " + st.Winner
		}
		return fmt.Sprintf("none: completed (%s)", what)
	case experiment.PhaseFailed:
		return "none: failed; start a new experiment once the cause is fixed"
	case experiment.PhasePaused:
		return fmt.Sprintf("none while paused: traffic is frozen; resume with `kn iter8 resume %s`", in.Service)
	case experiment.PhasePending:
		return "waiting for the experiment to start"
	}
	conf := Percent(spec.Confidence)
	var goal string
	switch spec.Kind {
	case events.KindCanary:
		c := spec.Candidates[0]
		goal = fmt.Sprintf("%s %s once every objective holds at %s; %s on a violation",
			onSuccessVerb(spec), c, conf, onFailureVerb(spec))
	case events.KindAB, events.KindABN:
		goal = fmt.Sprintf("%s the version shown best on %s at %s among those meeting the objectives",
			onSuccessVerb(spec), spec.Reward.Metric, conf)
	default:
		goal = fmt.Sprintf("pass once %s meets every objective at %s; fail on a violation", spec.Baseline, conf)
	}
	if st.Last == nil {
		goal = "waiting for the first metrics window; then " + goal
	}
	left := spec.Limits.MaxDuration.Duration - runningTime(st, now)
	if left < 0 {
		left = 0
	}
	end := "inconclusive, keeping the baseline,"
	switch spec.Kind {
	case events.KindCanary:
		end = onFailureVerb(spec) + ", not shown satisfied,"
	case events.KindPerformance:
		end = "fail, not shown satisfied,"
	}
	return fmt.Sprintf("%s (or %s in %s at maxDuration %s)", goal, end,
		Duration(left), Duration(spec.Limits.MaxDuration.Duration))
}

func onSuccessVerb(spec events.ExperimentSpec) string {
	if spec.OnSuccess == events.ActionKeep {
		return "choose"
	}
	return "promote"
}

func onFailureVerb(spec events.ExperimentSpec) string {
	if spec.OnFailure == events.ActionKeep {
		return "stop, keeping the split,"
	}
	return "roll back"
}

// runningTime is the clock maxDuration reads: time spent Running.
func runningTime(st experiment.State, now time.Time) time.Duration {
	d := now.Sub(st.Started.Time) - st.PausedFor.Duration
	if st.Phase == experiment.PhasePaused {
		d -= now.Sub(st.Since.Time)
	}
	return d
}

// Age prints the time from then to now as kubectl and kn print ages; "-"
// for an unknown time.
func Age(now, then time.Time) string {
	if then.IsZero() {
		return "-"
	}
	d := now.Sub(then)
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d)
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ptr(v float64) *float64 { return &v }

// samplesOf is the number of requests behind version i: the largest count
// over its metrics, as the statistics engine counts them.
func samplesOf(st experiment.State, spec events.ExperimentSpec, i int) float64 {
	if i >= len(st.Data) {
		return 0
	}
	var n float64
	for j, m := range spec.Metrics {
		if j >= len(st.Data[i]) {
			break
		}
		d := st.Data[i][j]
		var c float64
		switch m.Type {
		case events.MetricRatio:
			c = d.Trials
		case events.MetricMean:
			c = d.Count
		default:
			for _, k := range d.Counts {
				c += k
			}
		}
		n = max(n, c)
	}
	return n
}
