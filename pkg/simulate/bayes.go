package simulate

import (
	"fmt"
	"math"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// iter8 v1's routing: probability matching mixed with 5% uniform
// exploration, a version gaining at most 5 points per step.
const (
	v1Exploration  = 0.05
	v1MaxIncrement = 5
)

// bayes is the two Bayesian baselines. Both read the same posterior as
// iter8 (stats.Assess on the same model and priors), check it every
// interval once every version in play has the spec's minSamples, and stop
// as soon as a posterior probability reaches the confidence — the rule
// whose error grows with every look, which iter8's anytime-valid
// decisions replace.
//
//   - naive-bayes: an equal split throughout (50/50 for a canary). ab,
//     abn: stop when some version's P(best) ≥ confidence and promote it
//     (the baseline is named like any other). canary, performance: promote
//     (pass) when P(objectives hold) ≥ confidence, roll back (fail) when
//     it is ≤ 1 − confidence.
//   - iter8-v1: the same stopping rules, with iter8 v1's posterior
//     Bayesian routing: traffic ∝ (1−ε)·P(best) + ε/K with ε = 5%, no
//     version gaining more than 5 points per interval. A canary starts at
//     the spec's initialCandidatePercent and is routed ∝ P(objectives
//     hold) the same way.
type bayes struct {
	env   runEnv
	led   *ledger
	v1    bool
	iter  int
	split []int
}

func newBayes(env runEnv, v1 bool) *bayes {
	return &bayes{env: env, led: newLedger(env.spec), v1: v1}
}

func (b *bayes) start() ([]int, error) {
	spec := b.env.spec
	switch spec.Kind {
	case events.KindAB, events.KindABN:
		b.split = equalSplit(len(spec.Versions()))
	case events.KindCanary:
		b.split = []int{50, 50}
		if b.v1 {
			c := *spec.Traffic.InitialCandidatePercent
			b.split = []int{100 - c, c}
		}
	}
	return b.split, nil
}

func (b *bayes) name() string {
	if b.v1 {
		return PolicyIter8V1
	}
	return PolicyNaiveBayes
}

func (b *bayes) observe(obs events.MetricsObserved, _ time.Time) ([]int, string, bool, error) {
	if err := b.led.add(obs); err != nil {
		return nil, "", false, fmt.Errorf("policy %s: %w", b.name(), err)
	}
	b.iter++
	spec := b.env.spec
	a, err := stats.Assess(experiment.Problem(spec, 0, mix(b.env.seed^uint64(b.iter))), b.led.total, nil)
	if err != nil {
		return nil, "", false, fmt.Errorf("policy %s interval %d: %w", b.name(), b.iter, err)
	}
	samples := b.led.samples()
	enough := func(versions ...int) bool {
		for _, v := range versions {
			if samples[v] < float64(spec.Limits.MinSamples) {
				return false
			}
		}
		return true
	}
	conf := spec.Confidence
	switch spec.Kind {
	case events.KindPerformance:
		p := a.Versions[0].ProbFeasible
		switch {
		case !enough(0):
		case p >= conf:
			return nil, OutcomePass, true, nil
		case p <= 1-conf:
			return nil, OutcomeFail, true, nil
		}
		return nil, "", false, nil
	case events.KindCanary:
		p := a.Versions[1].ProbFeasible
		switch {
		case !enough(1):
		case p >= conf:
			return b.env.promoted(b.split, 1), spec.Candidates[0], true, nil
		case p <= 1-conf:
			return b.env.failed(b.split), OutcomeRollback, true, nil
		}
		if b.v1 {
			b.split = capIncrease([]float64{1 - p, p}, b.split)
		}
		return b.split, "", false, nil
	}
	every := make([]int, len(b.split))
	win := make([]float64, len(b.split))
	leader := 0
	for i, vr := range a.Versions {
		every[i] = i
		if p := vr.ProbWin; p > 0 {
			win[i] = p
		}
		if win[i] > win[leader] {
			leader = i
		}
	}
	if enough(every...) && win[leader] >= conf {
		return b.env.promoted(b.split, leader), b.led.versions[leader], true, nil
	}
	if b.v1 {
		b.split = capIncrease(win, b.split)
	}
	return b.split, "", false, nil
}

// capIncrease is iter8 v1's step: the target (1−ε)·w/Σw + ε/K in
// percent, projected onto the splits where no version gains more than
// v1MaxIncrement points over cur (the closest such split in Euclidean
// distance, found by bisection on the shift that makes the shares sum to
// 100), then rounded by largest remainder within the caps.
func capIncrease(w []float64, cur []int) []int {
	k := len(w)
	total := 0.0
	for _, x := range w {
		if x > 0 && !math.IsInf(x, 0) {
			total += x
		}
	}
	target := make([]float64, k)
	for i, x := range w {
		share := 1 / float64(k)
		if total > 0 {
			share = 0
			if x > 0 && !math.IsInf(x, 0) {
				share = x / total
			}
		}
		target[i] = 100 * ((1-v1Exploration)*share + v1Exploration/float64(k))
	}
	lo, hi := make([]int, k), make([]int, k)
	for i := range hi {
		hi[i] = min(100, cur[i]+v1MaxIncrement)
	}
	return experiment.ProjectSplit(target, lo, hi)
}
