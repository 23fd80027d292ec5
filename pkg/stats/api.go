package stats

import "math"

// This file is the contract between the statistics engine and its callers
// (pkg/experiment, pkg/simulate). Change it only together with them.

// Kind is a metric's model.
type Kind int

const (
	// Ratio: successes in trials, Beta-Binomial.
	Ratio Kind = iota + 1
	// Mean: count, mean and M2 of a real quantity, Normal-Inverse-Gamma.
	Mean
	// Quantile: a histogram; Dirichlet over bucket masses.
	Quantile
)

// Data is the sufficient statistics of one metric of one version. Which
// fields are used depends on the metric's Kind. Counts are float64 so that
// huge counts neither overflow nor lose the merge's associativity in practice.
type Data struct {
	// Ratio.
	Successes float64 `json:"s,omitempty"`
	Trials    float64 `json:"t,omitempty"`
	// Mean: Welford/Chan form, stable when merged.
	Count float64 `json:"n,omitempty"`
	Mu    float64 `json:"m,omitempty"`
	M2    float64 `json:"q,omitempty"`
	// Quantile: len(Counts) == len(Bounds)+1; the last count is the overflow
	// bucket above the last bound.
	Bounds []float64 `json:"b,omitempty"`
	Counts []float64 `json:"c,omitempty"`
}

// Metric describes one metric of a Problem.
type Metric struct {
	Name string
	Kind Kind
	// Q is the quantile in (0,1) of a Quantile metric.
	Q float64
	// Lo and Hi are the range every observation of a Mean metric lies in
	// (an end may be infinite). Absolute verdicts on the mean and MeanCS
	// assume it and are exact under it (bounded.go); Hi <= Lo, the zero
	// value, means nothing is known, (-Inf, +Inf), so no such verdict
	// is ever reached.
	Lo, Hi float64
}

// valueRange is the range of a Mean metric's observations.
func (m Metric) valueRange() (lo, hi float64) {
	if !(m.Hi > m.Lo) {
		return math.Inf(-1), math.Inf(1)
	}
	return m.Lo, m.Hi
}

// Objective is one limit on one metric: Value <= Limit when Upper, else
// Value >= Limit. When Relative, the limit is Limit x the baseline's value.
type Objective struct {
	Metric   int // index into Problem.Metrics
	Upper    bool
	Limit    float64
	Relative bool
}

// Reward is the metric to optimise.
type Reward struct {
	Metric   int // index into Problem.Metrics
	Maximize bool
}

// Problem is everything about an assessment except the data.
type Problem struct {
	Metrics    []Metric
	Objectives []Objective
	Reward     *Reward // nil for canary and performance
	// Confidence is the credible level of intervals and 1 - delta of every
	// decision.
	Confidence float64
	// Draws is the number of Monte Carlo draws; 0 means the default.
	Draws int
	// Seed makes the Monte Carlo repeatable; callers derive it from the
	// experiment id and iteration.
	Seed uint64
	// Priors overrides the weak default priors; nil means DefaultPriors().
	Priors *Priors
	// Evidence is the reward e-processes' state after the latest window
	// (Evidence.Fold), which decides Ratio and Mean rewards near the
	// information limit; nil falls back to rules that need only totals and
	// more samples (see BestArm).
	Evidence *Evidence
	// BaselineUnjudged says that nothing acts on the baseline's objective
	// verdicts (a canary judges its candidate only): they stay Undecided
	// and take no share of the error budget.
	BaselineUnjudged bool
}

// Verdict is an anytime-valid decision on an objective.
type Verdict int

const (
	Undecided Verdict = iota
	Satisfied
	Violated
)

// Assessment is the result of Assess. Version 0 is the baseline.
type Assessment struct {
	Versions []VersionResult
	// Best is the index of the version shown best on the reward among the
	// versions not shown to violate an objective, with error at most delta
	// however often Assess is called; -1 when not (yet) shown.
	Best int
	// Leader is the index with the highest win probability; -1 without a
	// reward, or when no posterior draw has a feasible, non-excluded
	// version.
	Leader int
}

// VersionResult is one version's assessment.
type VersionResult struct {
	Samples float64 // requests seen (max over metrics)
	Metrics []MetricResult
	// ObjectiveVerdicts has one verdict per Problem.Objectives entry.
	ObjectiveVerdicts []Verdict
	// ObjectiveProbs has P(objective holds) per Problem.Objectives entry.
	ObjectiveProbs []float64
	// Verdict combines ObjectiveVerdicts: Violated if any is, Satisfied if
	// all are, else Undecided. Satisfied when there are no objectives.
	Verdict Verdict
	// ProbFeasible is P(all objectives hold), by Monte Carlo.
	ProbFeasible float64
	// ProbBeatsBaseline is P(reward better than the baseline's); NaN for
	// the baseline or without a reward.
	ProbBeatsBaseline float64
	// ProbWin is P(best reward among feasible versions); NaN without a reward.
	ProbWin float64
	// TopTwo is the top-two Thompson sampling allocation (beta = 1/2):
	// half the chance of leading plus half the chance of running second in
	// the same posterior draw; a lone feasible version in a draw takes both
	// halves, so TopTwo sums to P(some version wins). 0 for excluded
	// versions; NaN without a reward.
	TopTwo float64
	// ExpectedLoss is E[max reward - this version's reward], the max taken
	// over the draw's feasible, non-excluded versions, in the reward's units
	// (so never negative) and 0 in draws without one; +Inf is possible for
	// a Quantile reward whose draws reach the overflow bucket. NaN without
	// a reward.
	ExpectedLoss float64
}

// MetricResult is the posterior of one metric of one version.
type MetricResult struct {
	// Mean is the posterior mean (for a Mean metric the t location, which
	// is also the median). For Quantile metrics Mean, Lower and Upper come
	// from the Monte Carlo draws and are +Inf when the overflow bucket is
	// reached (-Inf below a first bound <= 0).
	Mean  float64
	Lower float64 // equal-tailed credible interval at Problem.Confidence
	Upper float64
	// CSLower and CSUpper bound a Quantile metric's anytime-valid
	// confidence sequence, the one its verdicts act on, at the level of
	// one objective verdict (see Decision.Alpha); infinite while the
	// quantile may lie beyond the histogram. NaN for Ratio and Mean
	// metrics, whose verdicts compute what they need themselves (an
	// absolute limit is tested directly, a relative one on the sequence of
	// a difference or of the baseline's own value): BetaBinomialCS and
	// MeanCS give theirs to a caller that wants them.
	CSLower float64
	CSUpper float64
}
