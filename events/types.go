package events

// Inbound event types: produced by users, the kn plugin, the metrics collector
// or applications, and consumed by iter8's functions.
const (
	// TypeExperimentStart carries an ExperimentSpec and starts an experiment
	// on the Service named by the subject.
	TypeExperimentStart = "dev.iter8.experiment.start"
	// TypeMetricsObserved carries MetricsObserved: one window of aggregated
	// observations per version and metric.
	TypeMetricsObserved = "dev.iter8.metrics.observed"
	// TypeExperimentControl carries a Control action.
	TypeExperimentControl = "dev.iter8.experiment.control"
	// TypePing is the tick a Knative PingSource sends; it drives the metrics
	// collector.
	TypePing = "dev.knative.sources.ping"
	// TypeExperimentCollect carries Collect: one running experiment's share
	// of a tick. The functions emit one per experiment on each tick, and
	// any replica collects it.
	TypeExperimentCollect = "dev.iter8.experiment.collect"
)

// Outbound event types: emitted by the functions as replies or to K_SINK.
const (
	TypeExperimentStarted   = "dev.iter8.experiment.started"
	TypeExperimentAssessed  = "dev.iter8.experiment.assessed"
	TypeTrafficChanged      = "dev.iter8.traffic.changed"
	TypeExperimentCompleted = "dev.iter8.experiment.completed"
	TypeExperimentFailed    = "dev.iter8.experiment.failed"
)

// Prefix is the prefix of every annotation and label key iter8 writes.
const Prefix = "iter8.dev/"

// Metric types.
const (
	// MetricRatio is a share of successes in trials (error rate, conversion).
	MetricRatio = "ratio"
	// MetricMean is a real-valued per-request quantity (latency, revenue).
	MetricMean = "mean"
	// MetricQuantile is a quantile of a per-request quantity, observed as a
	// histogram.
	MetricQuantile = "quantile"
)

// Experiment kinds.
const (
	KindCanary      = "canary"
	KindAB          = "ab"
	KindABN         = "abn"
	KindPerformance = "performance"
)

// Control actions.
const (
	ActionPause   = "pause"
	ActionResume  = "resume"
	ActionAbort   = "abort"
	ActionPromote = "promote"
)

// Window is the half-open interval [Start, End) that one MetricsObserved
// event aggregates. Times are RFC 3339.
type Window struct {
	Start Time `json:"start"`
	End   Time `json:"end"`
}

// MetricsObserved is the data of TypeMetricsObserved: for each version
// (revision name) and metric name, the sufficient statistics observed in one
// window. Observations are increments, never running totals, so that
// windows can be added.
type MetricsObserved struct {
	Window   Window                            `json:"window"`
	Versions map[string]map[string]Observation `json:"versions"`
}

// Observation holds the sufficient statistics of one metric of one version
// over one window. Which fields are set depends on the metric's type:
//
//   - ratio: Successes and Trials;
//   - mean: Count, Sum and SumSquares;
//   - quantile: Bounds and Counts, a histogram.
type Observation struct {
	Successes *int64 `json:"successes,omitempty"`
	Trials    *int64 `json:"trials,omitempty"`

	Count      *int64   `json:"count,omitempty"`
	Sum        *float64 `json:"sum,omitempty"`
	SumSquares *float64 `json:"sumSquares,omitempty"`

	// Bounds are the histogram's bucket upper bounds, strictly increasing.
	// Counts has one more element than Bounds: Counts[i] counts values in
	// (Bounds[i-1], Bounds[i]], and the last element counts values above the
	// last bound. Counts are per bucket, not cumulative.
	Bounds []float64 `json:"bounds,omitempty"`
	Counts []int64   `json:"counts,omitempty"`
}

// Control is the data of TypeExperimentControl.
type Control struct {
	Action string `json:"action"`
	// Version is the version to promote; required for promote only.
	Version string `json:"version,omitempty"`
	// Reason is free text recorded in the experiment's history.
	Reason string `json:"reason,omitempty"`
}

// Collect is the data of TypeExperimentCollect: which experiment to
// collect, up to when.
type Collect struct {
	// Experiment is the id of the experiment the tick found running. An
	// event for another experiment (the one it names has ended, and maybe
	// another started) does nothing.
	Experiment string `json:"experiment"`
	// Tick is the tick's time, truncated to the tick period: the collector
	// collects up to it (less its delay) and maxDuration is judged at it,
	// so that every delivery of the event, on any replica, does the same
	// and counts once.
	Tick Time `json:"tick"`
}

// Started is the data of TypeExperimentStarted.
type Started struct {
	Service string         `json:"service"`
	Spec    ExperimentSpec `json:"spec"`
	Traffic map[string]int `json:"traffic"`
}

// TrafficChanged is the data of TypeTrafficChanged: the split before and after,
// in percent per version.
type TrafficChanged struct {
	Service   string         `json:"service"`
	Iteration int            `json:"iteration"`
	From      map[string]int `json:"from"`
	To        map[string]int `json:"to"`
	Reason    string         `json:"reason,omitempty"`
}

// Outcomes of a completed experiment.
const (
	OutcomePromoted     = "promoted"
	OutcomeRolledBack   = "rolledBack"
	OutcomeInconclusive = "inconclusive"
	OutcomePassed       = "passed"
	OutcomeFailedSLO    = "failedObjectives"
	OutcomeAborted      = "aborted"
)

// Completed is the data of TypeExperimentCompleted.
type Completed struct {
	Service   string `json:"service"`
	Outcome   string `json:"outcome"`
	Winner    string `json:"winner,omitempty"`
	Reason    string `json:"reason"`
	Iteration int    `json:"iteration"`
	// Traffic is the final split.
	Traffic map[string]int `json:"traffic"`
}

// Failed is the data of TypeExperimentFailed: the experiment could not go on
// for a reason outside its statistics (the Service or a revision vanished).
type Failed struct {
	Service string `json:"service"`
	Reason  string `json:"reason"`
}

// Assessed is the data of TypeExperimentAssessed: a summary of the latest
// assessment.
type Assessed struct {
	Service   string              `json:"service"`
	Iteration int                 `json:"iteration"`
	Phase     string              `json:"phase"`
	Leader    string              `json:"leader,omitempty"`
	Versions  []VersionAssessment `json:"versions"`
	// Decision is a short human statement of what was decided, or what
	// evidence is still needed.
	Decision string         `json:"decision"`
	Traffic  map[string]int `json:"traffic"`
}

// VersionAssessment summarises one version.
type VersionAssessment struct {
	Version string `json:"version"`
	Samples int64  `json:"samples"`
	// ProbBeatsBaseline is P(better than the baseline on the reward); absent
	// for the baseline and where there is no reward.
	ProbBeatsBaseline *float64 `json:"probBeatsBaseline,omitempty"`
	// ProbWin is P(best on the reward among feasible versions).
	ProbWin *float64 `json:"probWin,omitempty"`
	// ProbFeasible is P(all objectives satisfied).
	ProbFeasible float64 `json:"probFeasible"`
	// ExpectedLoss is the expected reward lost by choosing this version.
	ExpectedLoss *float64           `json:"expectedLoss,omitempty"`
	Metrics      []MetricAssessment `json:"metrics"`
	// Verdict is one of "satisfied", "violated", "undecided" for the
	// objectives taken together, with the anytime-valid guarantee.
	Verdict string `json:"verdict"`
}

// MetricAssessment is one metric of one version. Mean, Lower and Upper are
// absent when they are not finite: a metric with no data yet, or a quantile
// whose credible interval reaches beyond the histogram's last bound (then
// Upper is absent: unbounded above).
type MetricAssessment struct {
	Metric string   `json:"metric"`
	Mean   *float64 `json:"mean,omitempty"`
	Lower  *float64 `json:"lower,omitempty"`
	Upper  *float64 `json:"upper,omitempty"`
	// ProbObjective is P(this metric's objectives hold), when it has any.
	ProbObjective *float64 `json:"probObjective,omitempty"`
	// Verdict is the anytime-valid verdict on this metric's objectives.
	Verdict string `json:"verdict,omitempty"`
}
