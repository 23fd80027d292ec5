package experiment

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// randomAssessor scripts random assessments, repeatable through the seed
// the engine derives from the experiment id and iteration. Verdicts are
// mostly undecided, with occasional violations and rare best versions, so
// that experiments run for a while and exclusions happen.
func randomAssessor(spec events.ExperimentSpec) Assessor {
	return func(p stats.Problem, data [][]stats.Data, excluded []bool) (stats.Assessment, error) {
		r := rand.New(rand.NewPCG(p.Seed, 7))
		n := len(data)
		vs := make([]av, n)
		for i := range vs {
			vs[i] = av{feasible: r.Float64(), win: r.Float64(), top: r.Float64() * r.Float64()}
			switch x := r.IntN(100); {
			case x < 4:
				vs[i].verdict = stats.Violated
			case x < 10:
				vs[i].verdict = stats.Satisfied
			}
		}
		best, leader := -1, r.IntN(n)
		if r.IntN(30) == 0 {
			best = r.IntN(n)
		}
		return scripted(spec, best, leader, vs...), nil
	}
}

// TestEngineProperties runs many random experiments and checks the
// traffic guarantees after every step.
func TestEngineProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for run := range 300 {
		spec := abnSpec()
		spec.Candidates = nil
		for i := range 1 + r.IntN(5) {
			spec.Candidates = append(spec.Candidates, fmt.Sprintf("v%d", i+2))
		}
		n := 1 + len(spec.Candidates)
		maxCand := max(100/n+1, 1+r.IntN(100))
		spec.Traffic.MaxCandidatePercent = ref(maxCand)
		spec.Traffic.MaxIncrement = ref(1 + r.IntN(30))
		spec.Limits.MinSamples = 1
		if r.IntN(3) == 0 {
			spec.Traffic.Strategy = events.StrategyFixed
		}
		if r.IntN(2) == 0 {
			spec.Kind, spec.Candidates = events.KindCanary, spec.Candidates[:1]
			spec.Reward, n = nil, 2
			spec.Traffic.Strategy = ""
			spec.Objectives = []events.Objective{{Metric: "errors", UpperLimit: ref(0.01)}}
		}
		id := fmt.Sprintf("run-%d", run)
		st, _, err := New().Start(spec, id, t0)
		if err != nil {
			t.Fatalf("%s: Start(%+v): %v", id, spec, err)
		}
		e := New(WithAssessor(randomAssessor(spec)))
		for i := 0; st.Phase == PhaseRunning && i < 60; i++ {
			counts := map[string][2]int64{}
			for _, v := range st.Versions {
				counts[v] = [2]int64{0, int64(st.Traffic[v])}
			}
			obs, now := ratioObs(spec, i, counts)
			next, res, err := e.Observe(spec, st, obs, now)
			if err != nil {
				t.Fatalf("%s iteration %d: %v", id, i, err)
			}
			checkStep(t, fmt.Sprintf("%s iteration %d", id, i), spec, st, next, res)
			st = next
		}
	}
}

func checkStep(t *testing.T, where string, spec events.ExperimentSpec, prev, next State, res Result) {
	t.Helper()
	sum := 0
	for _, v := range next.Versions {
		p := next.Traffic[v]
		if p < 0 || p > 100 {
			t.Fatalf("%s: %s has %d%%", where, v, p)
		}
		sum += p
	}
	if sum != 100 {
		t.Fatalf("%s: traffic %v sums to %d", where, next.Traffic, sum)
	}
	if res.Traffic != nil && !maps.Equal(res.Traffic, next.Traffic) {
		t.Fatalf("%s: Result.Traffic %v differs from the state's %v", where, res.Traffic, next.Traffic)
	}
	for _, v := range prev.Excluded {
		if !slices.Contains(next.Excluded, v) {
			t.Fatalf("%s: %s was excluded and no longer is", where, v)
		}
	}
	if next.Phase == PhaseCompleted {
		w := next.Winner
		if w == "" {
			w = next.Versions[0]
		}
		if next.Traffic[w] != 100 {
			t.Fatalf("%s: completed %s (winner %q) with traffic %v", where, next.Outcome, next.Winner, next.Traffic)
		}
		return
	}
	newlyExcluded := len(next.Excluded) > len(prev.Excluded)
	baselineExcluded := slices.Contains(next.Excluded, next.Versions[0])
	for i, v := range next.Versions {
		d := next.Traffic[v] - prev.Traffic[v]
		excluded := slices.Contains(next.Excluded, v)
		switch {
		case excluded && d > 0:
			t.Fatalf("%s: excluded %s gained %d", where, v, d)
		case excluded && next.Traffic[v] > 0 && i > 0:
			t.Fatalf("%s: excluded candidate %s kept %d%%", where, v, next.Traffic[v])
		case i > 0 && !baselineExcluded && next.Traffic[v] > *spec.Traffic.MaxCandidatePercent:
			t.Fatalf("%s: %s at %d%% above maxCandidatePercent %d", where, v, next.Traffic[v], *spec.Traffic.MaxCandidatePercent)
		case !excluded && !newlyExcluded && (d > *spec.Traffic.MaxIncrement || -d > *spec.Traffic.MaxIncrement):
			t.Fatalf("%s: %s moved %d, more than maxIncrement %d (%v -> %v) cap %d excl %v strategy %s", where, v, d, *spec.Traffic.MaxIncrement, prev.Traffic, next.Traffic, *spec.Traffic.MaxCandidatePercent, next.Excluded, spec.Traffic.Strategy)
		case spec.Kind == events.KindCanary && i == 1 && d < 0:
			t.Fatalf("%s: the canary went down by %d without ending", where, -d)
		}
	}
}
