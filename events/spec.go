package events

// ExperimentSpec is the data of TypeExperimentStart. Its field names are a
// public contract (../shared/scenarios/README.md uses them). Zero values mean
// "use the default"; Defaulted fills them in.
type ExperimentSpec struct {
	Kind       string       `json:"kind"`
	Baseline   string       `json:"baseline"`
	Candidates []string     `json:"candidates,omitempty"`
	Metrics    []MetricSpec `json:"metrics"`
	Objectives []Objective  `json:"objectives,omitempty"`
	Reward     *Reward      `json:"reward,omitempty"`
	// Confidence is 1 - delta for every decision, in (0.5, 1).
	Confidence float64     `json:"confidence,omitempty"`
	Traffic    TrafficSpec `json:"traffic,omitempty"`
	Limits     Limits      `json:"limits,omitempty"`
	OnSuccess  string      `json:"onSuccess,omitempty"` // promote | keep
	OnFailure  string      `json:"onFailure,omitempty"` // rollback | keep
	// Load makes iter8 generate the load a performance experiment
	// measures (spec_load.go); nil means the data comes from live traffic.
	Load *LoadSpec `json:"load,omitempty"`
}

// MetricSpec declares one metric.
type MetricSpec struct {
	Name string `json:"name"`
	Type string `json:"type"` // ratio | mean | quantile
	Unit string `json:"unit,omitempty"`
	// Quantile is the quantile in (0, 1) of a quantile metric.
	Quantile float64 `json:"quantile,omitempty"`
	// Buckets are histogram upper bounds for a quantile metric, used by the
	// simulator and the collector; observations may carry their own.
	Buckets []float64 `json:"buckets,omitempty"`
	// Min and Max bound every single value of a mean metric, in its unit
	// (see Range). Absolute limits on the mean are decided exactly under
	// this range, and the closer Max is to the values, the sooner a mean
	// is shown below a limit.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Query is a PromQL template for the metrics collector, with
	// {{.Revision}}, {{.Namespace}} and {{.Window}}.
	Query string `json:"query,omitempty"`
	// OnMissing says what the collector does when Prometheus has no data:
	// "wait" (default) or "fail".
	OnMissing string `json:"onMissing,omitempty"`
}

// Objective is a limit every version must meet on one metric. Exactly one
// of the limits is set per objective; several objectives may name one metric.
type Objective struct {
	Metric     string   `json:"metric"`
	UpperLimit *float64 `json:"upperLimit,omitempty"`
	LowerLimit *float64 `json:"lowerLimit,omitempty"`
	// UpperLimitRelative bounds a version at this multiple of the baseline.
	UpperLimitRelative *float64 `json:"upperLimitRelative,omitempty"`
	LowerLimitRelative *float64 `json:"lowerLimitRelative,omitempty"`
}

// Limit reads the one limit the objective sets: whether it is an upper
// limit, its value, and whether it is relative to the baseline.
func (o Objective) Limit() (upper bool, limit float64, relative bool) {
	switch {
	case o.UpperLimit != nil:
		return true, *o.UpperLimit, false
	case o.LowerLimit != nil:
		return false, *o.LowerLimit, false
	case o.UpperLimitRelative != nil:
		return true, *o.UpperLimitRelative, true
	case o.LowerLimitRelative != nil:
		return false, *o.LowerLimitRelative, true
	}
	return true, 0, false
}

// Reward names the metric A/B and A/B/n experiments optimise.
type Reward struct {
	Metric    string `json:"metric"`
	Direction string `json:"direction,omitempty"` // maximize | minimize
}

// TrafficSpec shapes how traffic moves.
type TrafficSpec struct {
	// Strategy is bandit (ab/abn default: identify the best version
	// fastest), earn (ab/abn: move traffic to the likely best while
	// learning), progressive (canary default) or fixed.
	Strategy                string `json:"strategy,omitempty"`
	InitialCandidatePercent *int   `json:"initialCandidatePercent,omitempty"`
	MaxCandidatePercent     *int   `json:"maxCandidatePercent,omitempty"`
	MaxIncrement            *int   `json:"maxIncrement,omitempty"`
}

// Limits end an experiment that has not decided.
type Limits struct {
	MaxDuration *Duration `json:"maxDuration,omitempty"`
	MaxSamples  int64     `json:"maxSamples,omitempty"`
	MinSamples  int64     `json:"minSamples,omitempty"`
}
