package simulate

import (
	"math"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// LowerBound is the Garivier–Kaufmann bound on the expected samples of
// any delta-correct policy.
type LowerBound struct {
	Samples float64 `json:"samples"`
}

// LaiRobbins is the Lai–Robbins asymptotic regret bound at the scenario's
// horizon: Constant · ln(Requests).
type LaiRobbins struct {
	Constant float64 `json:"constant"`
	// Requests is the horizon T in requests: maxIntervals ×
	// requestsPerInterval.
	Requests int64   `json:"requests"`
	Regret   float64 `json:"regret"`
}

// bernoulliArms returns the true Bernoulli reward of every version when
// the scenario is one the classical bounds speak of: a ratio reward with
// Bernoulli truths and no binding objective (no version's truth violates
// one; feasibility would otherwise enter the problem). Minimised rewards
// are mirrored to 1 − p, which leaves both bounds unchanged in meaning.
func bernoulliArms(s Scenario, t Truth) ([]float64, bool) {
	spec := s.Experiment.Defaulted()
	if spec.Reward == nil || len(spec.Candidates) == 0 {
		return nil, false
	}
	j := metricIndex(spec, spec.Reward.Metric)
	if spec.Metrics[j].Type != events.MetricRatio {
		return nil, false
	}
	for _, f := range t.Failing {
		if f {
			return nil, false
		}
	}
	mu := make([]float64, len(t.Reward))
	for i, r := range t.Reward {
		mu[i] = r
		if !t.Maximize {
			mu[i] = 1 - r
		}
	}
	return mu, true
}

// GKBound is the Garivier–Kaufmann lower bound for the scenario at
// delta = 1 − confidence; nil when the scenario has none or it is
// infinite (two versions tied for best, as in an A/A test).
func GKBound(s Scenario, t Truth) *LowerBound {
	mu, ok := bernoulliArms(s, t)
	if !ok {
		return nil
	}
	b := stats.GarivierKaufmannBound(mu, 1-s.Experiment.Defaulted().Confidence)
	if math.IsNaN(b) || math.IsInf(b, 0) {
		return nil
	}
	return &LowerBound{Samples: b}
}

// LaiRobbinsBound is the Lai–Robbins regret reference at the scenario's
// horizon; nil when the scenario has no Bernoulli reward free of binding
// objectives, or no suboptimal version.
func LaiRobbinsBound(s Scenario, t Truth) *LaiRobbins {
	mu, ok := bernoulliArms(s, t)
	if !ok {
		return nil
	}
	c := stats.LaiRobbinsConstant(mu)
	if math.IsNaN(c) || c == 0 {
		return nil
	}
	T := int64(s.Traffic.MaxIntervals) * s.Traffic.RequestsPerInterval
	return &LaiRobbins{Constant: c, Requests: T, Regret: c * math.Log(float64(T))}
}
