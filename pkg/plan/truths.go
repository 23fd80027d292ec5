package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"

	"gonum.org/v1/gonum/floats"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// The known-truths bound (ETAOptions.Truths). An oracle knows the one
// truth a run comes from; a prior can at best know the few truths the
// runs come from and weigh them by the state's data, which is what a
// prior fitted to the benchmark's scenarios would do. The ETA it gives
// is what a state-based ETA could reach with that knowledge: where it
// meets a target iter8's prior misses, the data in the state are enough
// and the prior is what falls short; where it misses too, no prior can
// help (docs/planning.md, "Why a quarter of a bad canary is missed").

// truthWeights are the posterior probabilities of truths, a priori
// equally likely, given st's data: for each version and ratio metric,
// the Bernoulli likelihood of its counts. Truths must agree on every
// other metric, whose likelihood the state's sums do not give.
func truthWeights(spec events.ExperimentSpec, st experiment.State, truths []map[string]map[string]simulate.Dist) ([]float64, error) {
	logL := make([]float64, len(truths))
	for v, name := range st.Versions {
		for j, m := range spec.Metrics {
			for k, tr := range truths {
				d, ok := tr[name][m.Name]
				if !ok {
					return nil, fmt.Errorf("truth %d: no %s for version %s", k, m.Name, name)
				}
				if experiment.KindOf(m.Type) != stats.Ratio {
					if !reflect.DeepEqual(d, truths[0][name][m.Name]) {
						return nil, fmt.Errorf("truths differ on %s of version %s, which is not a ratio", m.Name, name)
					}
					continue
				}
				if d.Bernoulli == nil {
					return nil, fmt.Errorf("truth %d: %s of version %s is not a Bernoulli", k, m.Name, name)
				}
				p, c := *d.Bernoulli, st.Data[v][j]
				logL[k] += stats.XLogY(c.Successes, p) + stats.XLogY(c.Trials-c.Successes, 1-p)
			}
		}
	}
	total := floats.LogSumExp(logL)
	if math.IsInf(total, -1) {
		return nil, fmt.Errorf("experiment %s: no truth could give its data", st.ID)
	}
	w := make([]float64, len(logL))
	for k, l := range logL {
		w[k] = math.Exp(l - total)
	}
	return w, nil
}

// pickTruth is forward run i's truth, drawn by the weights from a stream
// of its own, so that the engine's random numbers stay those of run i.
func pickTruth(w []float64, seed uint64, i int) int {
	return pick(w, rand.New(rand.NewPCG(seed, uint64(i)^0x7472757468)).Float64())
}

// pick is the index u in [0, 1) falls on when the weights w, summing to
// 1, are laid end to end: the last when rounding leaves u beyond them.
func pick(w []float64, u float64) int {
	for k, x := range w {
		if u -= x; u < 0 {
			return k
		}
	}
	return len(w) - 1
}
