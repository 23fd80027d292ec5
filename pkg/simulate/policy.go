package simulate

import (
	"fmt"
	"slices"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Policy names, for --policy.
const (
	PolicyIter8        = "iter8"
	PolicyIter8Earn    = "iter8-earn"
	PolicyFlagger      = "flagger"
	PolicyFixedHorizon = "fixed-horizon"
	PolicyNaiveBayes   = "naive-bayes"
	PolicyIter8V1      = "iter8-v1"
)

// Policies lists every policy, ours first.
func Policies() []string {
	return []string{PolicyIter8, PolicyIter8Earn, PolicyFlagger, PolicyFixedHorizon, PolicyNaiveBayes, PolicyIter8V1}
}

// policy is one run's decision maker. Splits are percents by version index
// (State.Versions' order) summing to 100, or nil for a performance
// experiment, whose only version takes all traffic.
type policy interface {
	// start returns the first split.
	start() ([]int, error)
	// observe takes one interval's window and returns the split for the
	// next interval; when done, outcome is the run's outcome (a contract
	// outcome) and the split is the one left in place after the decision.
	observe(obs events.MetricsObserved, now time.Time) (split []int, outcome string, done bool, err error)
}

// runEnv is what a policy may know: the spec, the scenario's truth (only
// the fixed-horizon test reads it, to size itself; see fixedhorizon.go),
// and the run's identity and seed.
type runEnv struct {
	scenario Scenario
	spec     events.ExperimentSpec // Defaulted
	truth    Truth
	id       string
	seed     uint64
	t0       time.Time
	// from is the engine state a continued run starts from (Options.From).
	from *experiment.State
	// onState sees the engine's state after every window (Options.OnState).
	onState func(experiment.State)
}

func newPolicy(name string, env runEnv) (policy, error) {
	switch name {
	case PolicyIter8:
		return &enginePolicy{env: env}, nil
	case PolicyIter8Earn:
		// iter8 with traffic strategy earn: A/B(/n) only.
		if k := env.spec.Kind; k != events.KindAB && k != events.KindABN {
			return nil, fmt.Errorf("%w: strategy earn is for ab and abn experiments", ErrNotApplicable)
		}
		env.spec.Traffic.Strategy = events.StrategyEarn
		return &enginePolicy{env: env}, nil
	case PolicyFlagger:
		return newFlagger(env), nil
	case PolicyFixedHorizon:
		return newFixedHorizon(env)
	case PolicyNaiveBayes:
		return newBayes(env, false), nil
	case PolicyIter8V1:
		return newBayes(env, true), nil
	}
	return nil, fmt.Errorf("unknown policy %q; want one of %v", name, Policies())
}

// enginePolicy is iter8 itself: pkg/experiment, unchanged.
type enginePolicy struct {
	env    runEnv
	engine experiment.Engine
	st     experiment.State
}

func (p *enginePolicy) start() ([]int, error) {
	if f := p.env.from; f != nil {
		if f.Phase != experiment.PhaseRunning {
			return nil, fmt.Errorf("policy iter8: experiment %s is %s, not Running", f.ID, f.Phase)
		}
		p.st = f.Clone()
		return splitOf(p.st), nil
	}
	st, _, err := p.engine.Start(p.env.spec, p.env.id, p.env.t0)
	if err != nil {
		return nil, fmt.Errorf("policy iter8: %w", err)
	}
	p.st = st
	return splitOf(st), nil
}

func (p *enginePolicy) observe(obs events.MetricsObserved, now time.Time) ([]int, string, bool, error) {
	st, _, err := p.engine.Observe(p.env.spec, p.st, obs, now)
	if err != nil {
		return nil, "", false, fmt.Errorf("policy iter8: %w", err)
	}
	p.st = st
	if p.env.onState != nil {
		p.env.onState(st)
	}
	switch st.Phase {
	case experiment.PhaseCompleted:
		return splitOf(st), engineOutcome(st), true, nil
	case experiment.PhaseFailed:
		return nil, "", false, fmt.Errorf("policy iter8: experiment %s failed: %s", st.ID, st.Reason)
	}
	return splitOf(st), "", false, nil
}

// engineOutcome maps a completed engine state to the contract's outcomes.
// A promoted version, baseline included, is named; an abort counts as a
// rollback since it ends on the baseline after a failure.
func engineOutcome(st experiment.State) string {
	switch st.Outcome {
	case events.OutcomePromoted:
		return st.Winner
	case events.OutcomeRolledBack, events.OutcomeAborted:
		return OutcomeRollback
	case events.OutcomePassed:
		return OutcomePass
	case events.OutcomeFailedSLO:
		return OutcomeFail
	}
	return OutcomeInconclusive
}

func splitOf(st experiment.State) []int {
	if st.Traffic == nil {
		return nil
	}
	out := make([]int, len(st.Versions))
	for i, v := range st.Versions {
		out[i] = st.Traffic[v]
	}
	return out
}

// ledger accumulates a run's data for the baselines, in the engine's
// sufficient statistics, and keeps the latest window's on its own.
type ledger struct {
	spec     events.ExperimentSpec
	versions []string
	kinds    []stats.Kind
	total    [][]stats.Data // [version][metric], every window so far
	last     [][]stats.Data // the latest window only
}

func newLedger(spec events.ExperimentSpec) *ledger {
	l := &ledger{spec: spec, versions: spec.Versions()}
	for _, m := range spec.Metrics {
		l.kinds = append(l.kinds, experiment.KindOf(m.Type))
	}
	l.total = emptyData(len(l.versions), len(spec.Metrics))
	return l
}

func emptyData(versions, metrics int) [][]stats.Data {
	out := make([][]stats.Data, versions)
	for i := range out {
		out[i] = make([]stats.Data, metrics)
	}
	return out
}

// add folds a window in.
func (l *ledger) add(obs events.MetricsObserved) error {
	l.last = emptyData(len(l.versions), len(l.spec.Metrics))
	for i, v := range l.versions {
		for j, m := range l.spec.Metrics {
			o, ok := obs.Versions[v][m.Name]
			if !ok {
				continue
			}
			d := DataOf(o)
			l.last[i][j] = d
			if err := l.total[i][j].Merge(l.kinds[j], d); err != nil {
				return fmt.Errorf("version %s metric %s: %w", v, m.Name, err)
			}
		}
	}
	return nil
}

// samples is each version's request count so far, as the engine counts
// it: the most observations of any metric.
func (l *ledger) samples() []float64 {
	out := make([]float64, len(l.versions))
	for i := range l.versions {
		for j := range l.spec.Metrics {
			out[i] = max(out[i], l.total[i][j].Samples(l.kinds[j]))
		}
	}
	return out
}

// DataOf is an observation in the engine's sufficient statistics.
func DataOf(o events.Observation) stats.Data {
	switch {
	case o.Trials != nil:
		return stats.Data{Successes: float64(*o.Successes), Trials: float64(*o.Trials)}
	case o.Count != nil:
		return stats.FromMoments(float64(*o.Count), *o.Sum, *o.SumSquares)
	}
	d := stats.Data{Bounds: slices.Clone(o.Bounds), Counts: make([]float64, len(o.Counts))}
	for k, c := range o.Counts {
		d.Counts[k] = float64(c)
	}
	return d
}

// equalSplit is the engine's equal split over n versions: remainders to
// the earlier versions, baseline first.
func equalSplit(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 100 / n
		if i < 100%n {
			out[i]++
		}
	}
	return out
}

// all is a split with everything on version i; nil stays nil (performance).
func all(n, i int) []int {
	out := make([]int, n)
	out[i] = 100
	return out
}
