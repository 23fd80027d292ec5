package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// A performance test of one error rate against a 1% limit, after s errors
// in n requests.
func errorsOnly(s, n float64) (events.ExperimentSpec, experiment.State) {
	limit := 0.01
	spec := events.ExperimentSpec{
		Kind:       events.KindPerformance,
		Metrics:    []events.MetricSpec{{Name: "errors", Type: "ratio"}},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: &limit}},
	}
	st := experiment.State{Versions: []string{"v1"}, Data: [][]stats.Data{{{Successes: s, Trials: n}}}}
	return spec, st
}

// The selection-adjusted draws have density Beta(s+½, f+½)(p)/P(p), P the
// interpolated survival: their mean against the ratio of two integrals.
func TestSelectionDrawsTheAdjustedPosterior(t *testing.T) {
	spec, st := errorsOnly(2, 300)
	// Survival falls from ~1 near the limit to 0.2 at low rates, as a
	// performance test's does late in a run.
	sel := &selection{version: "v1", metric: "errors",
		logits: []float64{logit(0.002), logit(0.005), logit(0.01)},
		logP:   []float64{math.Log(0.2), math.Log(0.6), math.Log(0.95)}}
	sel.min = math.Log(0.2)
	post := distuv.Beta{Alpha: 2.5, Beta: 298.5}
	w := func(p float64) float64 { return post.Prob(p) * math.Exp(-sel.logSurvive(p)) }
	num := quad.Fixed(func(p float64) float64 { return p * w(p) }, 0, 0.1, 4000, nil, 0)
	den := quad.Fixed(w, 0, 0.1, 4000, nil, 0)
	want := num / den
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 20000
	sum, sum2 := 0.0, 0.0
	for range n {
		p := *sel.draw(spec, st, rng)["v1"]["errors"].Bernoulli
		sum, sum2 = sum+p, sum2+p*p
	}
	mean := sum / n
	se := math.Sqrt((sum2/n - mean*mean) / n)
	if math.Abs(mean-want) > 4*se {
		t.Errorf("mean drawn rate %v ± %v, want %v (unadjusted %v)", mean, se, want, post.Mean())
	}
	if !(want < post.Mean()) {
		t.Errorf("adjusted mean %v not below the posterior's %v", want, post.Mean())
	}
}

func TestLogSurviveInterpolates(t *testing.T) {
	sel := &selection{logits: []float64{logit(0.001), logit(0.01)}, logP: []float64{-2, 0}}
	mid := 1 / (1 + math.Exp(-(logit(0.001)+logit(0.01))/2))
	for _, c := range []struct{ p, want float64 }{
		{0, -2}, {0.0005, -2}, {0.001, -2}, {mid, -1}, {0.01, 0}, {0.5, 0},
	} {
		if got := sel.logSurvive(c.p); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("logSurvive(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}

// The deciding ratio is the one nearest its limit; relative limits and
// other kinds do not count.
func TestDecidingRatio(t *testing.T) {
	lim1, lim5, rel := 0.01, 0.05, 1.1
	spec := events.ExperimentSpec{
		Metrics: []events.MetricSpec{{Name: "a", Type: "ratio"}, {Name: "b", Type: "ratio"}, {Name: "c", Type: "ratio"}, {Name: "lat", Type: "mean"}},
		Objectives: []events.Objective{
			{Metric: "a", UpperLimit: &lim1}, {Metric: "b", UpperLimit: &lim5},
			{Metric: "c", UpperLimitRelative: &rel}, {Metric: "lat", UpperLimit: &lim1},
		},
	}
	for _, c := range []struct {
		name string
		d    []stats.Data
		want int
	}{
		{"a far below, b near", []stats.Data{{Successes: 0, Trials: 1000}, {Successes: 45, Trials: 1000}, {}, {}}, 1},
		{"a near, b far", []stats.Data{{Successes: 9, Trials: 1000}, {Successes: 0, Trials: 1000}, {}, {}}, 0},
		{"no data: the prior's ½ is nearer b's 5%", []stats.Data{{}, {}, {}, {}}, 1},
	} {
		if got := decidingRatio(spec, c.d); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if got := decidingRatio(events.ExperimentSpec{Metrics: spec.Metrics[3:], Objectives: spec.Objectives[3:]}, []stats.Data{{}}); got != -1 {
		t.Errorf("no ratio: %d, want -1", got)
	}
}

// On representative states of the shared scenarios, P_θ(survive) from the
// real engine: for a performance test late in a run, rates well below the
// limit are less likely to still be running than rates near it, so the
// correction moves the draws away from the limit; for a canary whose
// candidate is clearly bad, rates far above the limit are less likely to
// still be running; and before a decision is possible, no draw is less
// likely to survive than another (no correction).
func TestSelectionOnRepresentativeStates(t *testing.T) {
	for _, c := range []struct {
		scenario  string
		seed      uint64
		iteration int
		rpi       int64
		// lowFaster: the grid's lowest rate survives less than its highest.
		lowFaster bool
	}{
		{"performance-pass", 1, 8, 70, true},
		{"canary-bad-errors", 1, 6, 70, false},
	} {
		s := load(t, c.scenario)
		s.Traffic.RequestsPerInterval = c.rpi
		st := stateAt(t, s, c.seed, c.iteration)
		spec := s.Experiment.Defaulted()
		sel, err := newSelection(spec, st, prior{}, fitted(spec, st, prior{}, nil), simulate.Interval, c.rpi, 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		if sel == nil {
			t.Fatalf("%s: no selection", c.scenario)
		}
		t.Logf("%s window %d: data %+v; P(survive) %v at log odds %v", c.scenario, c.iteration, st.Data, expAll(sel.logP), sel.logits)
		lo, hi := sel.logP[0], sel.logP[len(sel.logP)-1]
		if got := lo < hi; got != c.lowFaster {
			t.Errorf("%s at window %d: log P(survive) %v over rates %v: lowest below highest %v, want %v", c.scenario, c.iteration, sel.logP, sel.logits, got, c.lowFaster)
		}
	}
}

func expAll(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(100*math.Exp(x)) / 100
	}
	return out
}

// A canary whose deciding metric has a past is not corrected: its
// candidate's rate is drawn as from the population of the past, for which
// the selection of the data is ignorable. A past of another metric leaves
// the correction in place, and so does a past for a performance test,
// which has no candidate.
func TestSelectionLeavesAPastAlone(t *testing.T) {
	past := func(metric string) prior {
		return prior{past: []experiment.Past{{ID: "p", Ratios: map[string]experiment.Count{metric: {Successes: 3, Trials: 60}}}}}
	}
	for _, c := range []struct {
		scenario  string
		iteration int
		prior     prior
		want      bool
	}{
		{"canary-bad-errors", 6, prior{}, true},
		{"canary-bad-errors", 6, past("errors"), false},
		{"canary-bad-errors", 6, past("conversion"), true},
		{"performance-pass", 8, past("errors"), true},
	} {
		s := load(t, c.scenario)
		s.Traffic.RequestsPerInterval = 70
		st := stateAt(t, s, 1, c.iteration)
		spec := s.Experiment.Defaulted()
		sel, err := newSelection(spec, st, c.prior, fitted(spec, st, c.prior, nil), simulate.Interval, 70, 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := sel != nil; got != c.want {
			t.Errorf("%s with past %+v: corrected %v, want %v", c.scenario, c.prior.past, got, c.want)
		}
	}
}
