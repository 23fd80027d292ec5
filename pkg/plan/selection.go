package plan

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// The selection correction of a canary's or a performance test's ETA
// (docs/planning.md, "The ETA"). An ETA is asked of a state because the
// experiment has not decided yet, and at a fixed truth the states still
// running after t windows are not a fair sample of its data: a bad
// canary candidate still running has shown fewer errors than usual, a
// performance test still running more (a run whose errors came early
// keeps the upper bound above the limit). The posterior of the rate
// that decides, drawn from as if the data had not been selected, then
// leans towards the limit, where forward runs crawl. Given the
// selection, the likelihood of the data is the likelihood truncated to
// the runs that survive, L(data | θ) / P_θ(no decision in t windows)
// (Yekutieli's selection-adjusted posterior for a fixed parameter,
// JRSS B 2012): the drawn truths are reweighted by 1/P_θ(survive),
// which is what the A/B survival correction (survival.go) does through
// the conditional maximum likelihood of its λ. P_θ is estimated as
// there, by running the real engine from the start under the truth with
// the deciding rate set to θ, at a grid of rates spanning the posterior,
// with common random numbers; the draws are reweighted by rejection.

// selectionQuantiles are the quantiles of the drawn deciding rate at
// which P_θ(survive) is estimated.
var selectionQuantiles = []float64{0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95}

const (
	// selectionPool is the posterior draws the grid's quantiles are read
	// from.
	selectionPool = 128
	// selectionTries bounds the redraws of one forward run's truth.
	selectionTries = 1000
)

// selection is P_θ(survive) of the deciding rate of one ratio metric of
// one version, on a grid of rates.
type selection struct {
	prior           prior
	version, metric string
	// logits are the grid's rates on the log-odds scale, sorted, and
	// logP the log survival probabilities there; min is the least.
	logits, logP []float64
	min          float64
}

// newSelection estimates the selection correction for st, or returns
// nil when it does not apply: an A/B test (survival.go), no ratio
// metric with an absolute limit, a canary whose deciding metric has a
// past (canaryprior.go), or a state too early for the draws to differ in
// their chance to survive.
func newSelection(spec events.ExperimentSpec, st experiment.State, pr prior, point map[string]map[string]simulate.Dist, window time.Duration, rpi int64, seed uint64, workers int) (*selection, error) {
	if spec.Kind != events.KindCanary && spec.Kind != events.KindPerformance {
		return nil, nil
	}
	v := 0
	if spec.Kind == events.KindCanary {
		if len(st.Versions) < 2 {
			return nil, nil
		}
		v = 1
	}
	j := decidingRatio(spec, st.Data[v])
	if j < 0 {
		return nil, nil
	}
	m := spec.Metrics[j]
	if spec.Kind == events.KindCanary && len(pastCounts(pr.past, m.Name)) > 0 {
		// The candidate's rate is then drawn as from the population of
		// the Service's past candidates, and for a parameter drawn from
		// the population its prior describes, the posterior needs no
		// adjustment for the selection of the data (Dawid, "Selection
		// paradoxes of Bayesian inference", 1994): the correction is for
		// a fixed rate under a prior that does not know the population.
		// Applied on top of the past, it drew the candidate's rate high,
		// and a bad canary's ETA was too short (docs/planning.md).
		return nil, nil
	}
	version := st.Versions[v]
	// The grid spans the drawn rates, H₀'s and H₁'s alike.
	rng := rand.New(rand.NewPCG(seed, 0x5e1ec7))
	var pool []float64
	for range selectionPool {
		pool = append(pool, fitted(spec, st, pr, rng)[version][m.Name].Value(m))
	}
	sort.Float64s(pool)
	var grid []float64
	for _, q := range selectionQuantiles {
		g := quantile(pool, q)
		if len(grid) == 0 || g > grid[len(grid)-1] {
			grid = append(grid, g)
		}
	}
	t := st.Iteration
	f := max(1, (t*survivalRuns*len(grid)+survivalBudget-1)/survivalBudget)
	s := &selection{prior: pr, version: version, metric: m.Name, min: math.Inf(1)}
	for _, g := range grid {
		tr := maps.Clone(point)
		tr[version] = maps.Clone(point[version])
		tr[version][m.Name] = bernoulli(g)
		p, err := surviving(spec, "eta-selection", tr, t, f, rpi, window, seed, workers)
		if err != nil {
			return nil, err
		}
		s.logits = append(s.logits, logit(g))
		s.logP = append(s.logP, math.Log(p))
		s.min = math.Min(s.min, math.Log(p))
	}
	return s, nil
}

// decidingRatio is the index of the ratio metric with an absolute limit
// whose estimate d is nearest its limit in Kullback–Leibler divergence
// (the one a decision waits for: the samples a one-sided test needs grow
// as 1/KL), or −1.
func decidingRatio(spec events.ExperimentSpec, d []stats.Data) int {
	best, bestKL := -1, math.Inf(1)
	for _, o := range spec.Objectives {
		_, limit, relative := o.Limit()
		j := slices.IndexFunc(spec.Metrics, func(m events.MetricSpec) bool { return m.Name == o.Metric })
		if j < 0 || relative || experiment.KindOf(spec.Metrics[j].Type) != stats.Ratio || !(limit > 0 && limit < 1) {
			continue
		}
		p := (d[j].Successes + 0.5) / (d[j].Trials + 1)
		if kl := stats.KLBernoulli(p, limit); kl < bestKL {
			best, bestKL = j, kl
		}
	}
	return best
}

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-9), 1-1e-9)
	return math.Log(p / (1 - p))
}

// logSurvive is log P_θ(survive) at rate p: linear in the log odds
// between grid points, the nearest grid point's beyond them.
func (s *selection) logSurvive(p float64) float64 {
	x := logit(p)
	k := sort.SearchFloat64s(s.logits, x)
	switch {
	case k == 0:
		return s.logP[0]
	case k == len(s.logits):
		return s.logP[len(s.logP)-1]
	}
	x0, x1 := s.logits[k-1], s.logits[k]
	w := (x - x0) / (x1 - x0)
	return (1-w)*s.logP[k-1] + w*s.logP[k]
}

// draw is a truth from the selection-adjusted posterior: draws from
// the posterior (fitted) accepted with probability min P / P_θ(survive),
// so that their density is the posterior's over P_θ(survive).
func (s *selection) draw(spec events.ExperimentSpec, st experiment.State, rng *rand.Rand) map[string]map[string]simulate.Dist {
	var m events.MetricSpec
	for _, x := range spec.Metrics {
		if x.Name == s.metric {
			m = x
		}
	}
	for range selectionTries - 1 {
		tr := fitted(spec, st, s.prior, rng)
		if rng.Float64() < math.Exp(s.min-s.logSurvive(tr[s.version][s.metric].Value(m))) {
			return tr
		}
	}
	return fitted(spec, st, s.prior, rng)
}
