package events

import "time"

// Traffic strategies.
const (
	// StrategyBandit moves traffic towards the versions most likely to be
	// best (top-two Thompson sampling). A/B and A/B/n only.
	StrategyBandit = "bandit"
	// StrategyEarn moves traffic towards the version most likely best
	// (Thompson sampling), so the leader earns while evidence accrues; it
	// needs more samples to a decision than bandit, which identifies the
	// best version fastest. A/B and A/B/n only.
	StrategyEarn = "earn"
	// StrategyProgressive ramps the canary candidate up as evidence that it
	// meets its objectives grows. Canary only.
	StrategyProgressive = "progressive"
	// StrategyFixed keeps the initial split until a decision.
	StrategyFixed = "fixed"
)

// What to do with traffic when an experiment ends.
const (
	// OnSuccessPromote sends all traffic to the winner.
	OnSuccessPromote = "promote"
	// OnFailureRollback sends all traffic to the baseline.
	OnFailureRollback = "rollback"
	// ActionKeep (onSuccess or onFailure) leaves the split as it was when
	// the experiment ended, for a human or another tool to finish.
	ActionKeep = "keep"
)

// Reward directions.
const (
	DirectionMaximize = "maximize"
	DirectionMinimize = "minimize"
)

// What the metrics collector does when a metric has no data.
const (
	OnMissingWait = "wait"
	OnMissingFail = "fail"
)

// Defaults that Defaulted fills in. They are part of the documented
// contract (docs/experiments.md); change both together.
const (
	DefaultConfidence = 0.95
	// DefaultInitialCandidatePercent is the canary candidate's first share.
	DefaultInitialCandidatePercent = 10
	DefaultMaxCandidatePercent     = 100
	DefaultMaxIncrement            = 20
	// DefaultMaxDuration is a day so that an experiment sees a full daily
	// traffic cycle before giving up, yet never holds a split for longer.
	DefaultMaxDuration = 24 * time.Hour
	DefaultMaxSamples  = 1_000_000
	DefaultMinSamples  = 100
)

// Caps on the size of a spec. They keep the state annotation small and the
// assessment's cost bounded.
const (
	MaxVersions   = 10
	MaxMetrics    = 20
	MaxObjectives = 40
)

// Defaulted returns a copy of s with every unset field given its default:
//
//   - confidence: 0.95;
//   - traffic.strategy: bandit for ab and abn, progressive for canary, fixed
//     for performance;
//   - traffic.initialCandidatePercent: 10 for canary; left unset for ab and
//     abn, where unset means an equal split over all versions;
//   - traffic.maxCandidatePercent: 100 and traffic.maxIncrement: 20 for
//     every kind but performance, which never moves traffic;
//   - limits.maxDuration: 24h; limits.maxSamples: 1,000,000;
//     limits.minSamples: 100;
//   - onSuccess: promote; onFailure: rollback;
//   - reward.direction: maximize (when there is a reward);
//   - metrics[].onMissing: wait;
//   - load, when set: see LoadSpec.Defaulted.
//
// Zero means "unset" for the numbers without a pointer, so minSamples 0
// becomes 100; set 1 to decide as early as the evidence allows. Defaulted
// never fails and is idempotent; an unknown kind gets no kind-dependent
// defaults, which Validate then reports. The result shares no memory with s.
func (s ExperimentSpec) Defaulted() ExperimentSpec {
	d := s.clone()
	if d.Confidence == 0 {
		d.Confidence = DefaultConfidence
	}
	for i := range d.Metrics {
		if d.Metrics[i].OnMissing == "" {
			d.Metrics[i].OnMissing = OnMissingWait
		}
	}
	if d.Reward != nil && d.Reward.Direction == "" {
		d.Reward.Direction = DirectionMaximize
	}
	if d.Traffic.Strategy == "" {
		switch d.Kind {
		case KindAB, KindABN:
			d.Traffic.Strategy = StrategyBandit
		case KindCanary:
			d.Traffic.Strategy = StrategyProgressive
		case KindPerformance:
			d.Traffic.Strategy = StrategyFixed
		}
	}
	if d.Kind == KindCanary && d.Traffic.InitialCandidatePercent == nil {
		d.Traffic.InitialCandidatePercent = intPtr(DefaultInitialCandidatePercent)
	}
	if d.Kind == KindCanary || d.Kind == KindAB || d.Kind == KindABN {
		if d.Traffic.MaxCandidatePercent == nil {
			d.Traffic.MaxCandidatePercent = intPtr(DefaultMaxCandidatePercent)
		}
		if d.Traffic.MaxIncrement == nil {
			d.Traffic.MaxIncrement = intPtr(DefaultMaxIncrement)
		}
	}
	if d.Limits.MaxDuration == nil {
		d.Limits.MaxDuration = &Duration{DefaultMaxDuration}
	}
	if d.Limits.MaxSamples == 0 {
		d.Limits.MaxSamples = DefaultMaxSamples
	}
	if d.Limits.MinSamples == 0 {
		d.Limits.MinSamples = DefaultMinSamples
	}
	if d.OnSuccess == "" {
		d.OnSuccess = OnSuccessPromote
	}
	if d.OnFailure == "" {
		d.OnFailure = OnFailureRollback
	}
	if d.Load != nil {
		l := d.Load.Defaulted()
		d.Load = &l
	}
	return d
}

// Versions returns the baseline followed by the candidates: the order every
// per-version list of an experiment uses.
func (s ExperimentSpec) Versions() []string {
	out := make([]string, 0, 1+len(s.Candidates))
	out = append(out, s.Baseline)
	return append(out, s.Candidates...)
}

// clone deep-copies s so that defaulting never writes through to the
// caller's slices and pointers.
func (s ExperimentSpec) clone() ExperimentSpec {
	d := s
	d.Candidates = append([]string(nil), s.Candidates...)
	if s.Metrics != nil {
		d.Metrics = make([]MetricSpec, len(s.Metrics))
		for i, m := range s.Metrics {
			m.Buckets = append([]float64(nil), m.Buckets...)
			d.Metrics[i] = m
		}
	}
	if s.Objectives != nil {
		d.Objectives = make([]Objective, len(s.Objectives))
		for i, o := range s.Objectives {
			d.Objectives[i] = Objective{
				Metric:             o.Metric,
				UpperLimit:         floatPtrCopy(o.UpperLimit),
				LowerLimit:         floatPtrCopy(o.LowerLimit),
				UpperLimitRelative: floatPtrCopy(o.UpperLimitRelative),
				LowerLimitRelative: floatPtrCopy(o.LowerLimitRelative),
			}
		}
	}
	if s.Reward != nil {
		r := *s.Reward
		d.Reward = &r
	}
	d.Traffic.InitialCandidatePercent = intPtrCopy(s.Traffic.InitialCandidatePercent)
	d.Traffic.MaxCandidatePercent = intPtrCopy(s.Traffic.MaxCandidatePercent)
	d.Traffic.MaxIncrement = intPtrCopy(s.Traffic.MaxIncrement)
	if s.Limits.MaxDuration != nil {
		v := *s.Limits.MaxDuration
		d.Limits.MaxDuration = &v
	}
	if s.Load != nil {
		l := s.Load.clone()
		d.Load = &l
	}
	return d
}

func intPtr(v int) *int { return &v }

func intPtrCopy(p *int) *int {
	if p == nil {
		return nil
	}
	return intPtr(*p)
}

func floatPtrCopy(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
