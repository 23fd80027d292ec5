package plan

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// The weights of the known truths are the Bernoulli likelihoods of the
// state's counts in closed form; the metrics that are not ratios must
// agree, and are left out.
func TestTruthWeights(t *testing.T) {
	good, bad := load(t, "canary-good"), load(t, "canary-bad-errors")
	st := experiment.State{ID: "x", Versions: []string{"v1", "v2"}, Data: [][]stats.Data{
		{{Successes: 0, Trials: 100}, {Count: 100, Mu: 55}},
		{{Successes: 1, Trials: 50}, {Count: 50, Mu: 54}},
	}}
	// The baseline's rate is 0.2% in both and its likelihood cancels;
	// one error in 50 is 0.05·0.95⁴⁹ likely at 5%, 0.002·0.998⁴⁹ at 0.2%.
	lg, lb := 0.002*math.Pow(0.998, 49), 0.05*math.Pow(0.95, 49)
	latency := load(t, "canary-good")
	latency.Truth = cloneTruth(good.Truth)
	latency.Truth["v2"]["latency"] = bad.Truth["v1"]["errors"]
	for _, c := range []struct {
		name    string
		st      experiment.State
		truths  []map[string]map[string]simulate.Dist
		want    []float64
		wantErr string
	}{
		{name: "one error in 50", st: st, truths: []map[string]map[string]simulate.Dist{good.Truth, bad.Truth}, want: []float64{lg / (lg + lb), lb / (lg + lb)}},
		{name: "no data", st: zeroed(st), truths: []map[string]map[string]simulate.Dist{good.Truth, bad.Truth}, want: []float64{0.5, 0.5}},
		{name: "one truth", st: st, truths: []map[string]map[string]simulate.Dist{bad.Truth}, want: []float64{1}},
		{name: "a mean differs", st: st, truths: []map[string]map[string]simulate.Dist{good.Truth, latency.Truth}, wantErr: "truths differ on latency of version v2, which is not a ratio"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := truthWeights(good.Experiment.Defaulted(), c.st, c.truths)
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got, cmpopts.EquateApprox(1e-9, 0)); d != "" {
				t.Errorf("weights (-want +got):\n%s", d)
			}
		})
	}
}

// Each forward run picks a truth by the weights, independently of the
// engine's random numbers.
func TestPickTruthFollowsTheWeights(t *testing.T) {
	w := []float64{0.3, 0.7}
	const n = 20000
	first := 0
	for i := range n {
		if pickTruth(w, 7, i) == 0 {
			first++
		}
	}
	if got := float64(first) / n; math.Abs(got-w[0]) > 4*math.Sqrt(w[0]*w[1]/n) {
		t.Errorf("share of the first truth %v, want %v", got, w[0])
	}
}

// With one known truth, the ETA is the oracle's, run for run. With the
// canary scenarios' two, each run continues under the truth pickTruth
// gives it: where the bad truth always rolls back and the good one never
// does, the share of rollbacks is exactly the share of runs given the bad
// one.
func TestKnownTruthsPickPerRun(t *testing.T) {
	good, bad := load(t, "canary-good"), load(t, "canary-bad-errors")
	bad.Traffic.RequestsPerInterval = 50
	st := stateAt(t, bad, 3, 2)
	const runs, seed = 60, 5
	eta := func(o ETAOptions) ETA {
		t.Helper()
		o.Runs, o.Horizon, o.Seed = runs, 400, seed
		e, err := Estimate(bad.Experiment, st, o)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	oracle := eta(ETAOptions{Truth: bad.Truth, Point: true})
	if d := cmp.Diff(oracle.Forward, eta(ETAOptions{Truths: []map[string]map[string]simulate.Dist{bad.Truth}}).Forward); d != "" {
		t.Errorf("one known truth against the oracle (-oracle +known):\n%s", d)
	}
	ifGood := eta(ETAOptions{Truth: good.Truth, Point: true})
	if math.Abs(oracle.Outcomes["rollback"]-1) > 1e-9 || ifGood.Outcomes["rollback"] != 0 {
		t.Fatalf("rollbacks %v under the bad truth and %v under the good one: the check needs 1 and 0", oracle.Outcomes["rollback"], ifGood.Outcomes["rollback"])
	}
	truths := []map[string]map[string]simulate.Dist{good.Truth, bad.Truth}
	w, err := truthWeights(bad.Experiment.Defaulted(), st, truths)
	if err != nil {
		t.Fatal(err)
	}
	picked := 0.0
	for i := range runs {
		picked += float64(pickTruth(w, seed, i))
	}
	both := eta(ETAOptions{Truths: truths})
	if got, want := both.Outcomes["rollback"], picked/runs; math.Abs(got-want) > 1e-9 || want == 0 || want == 1 {
		t.Errorf("rollbacks %v with both truths (weights %v), want %v", got, w, want)
	}
}

func cloneTruth(tr map[string]map[string]simulate.Dist) map[string]map[string]simulate.Dist {
	out := map[string]map[string]simulate.Dist{}
	for v, ms := range tr {
		out[v] = map[string]simulate.Dist{}
		for m, d := range ms {
			out[v][m] = d
		}
	}
	return out
}

func zeroed(st experiment.State) experiment.State {
	st.Data = [][]stats.Data{{{}, {}}, {{}, {}}}
	return st
}

// Known truths is offered where other scenarios share the experiment,
// with their truths in the scenarios' order, and for a canary the ETA
// with the past canaries of those scenarios in turn; neither elsewhere.
func TestETAEstimatorsKnowTheSiblings(t *testing.T) {
	good, bad, perf := load(t, "canary-good"), load(t, "canary-bad-errors"), load(t, "performance-pass")
	all := []simulate.Scenario{bad, good, perf}
	names := func(es []ETAEstimator) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Name)
		}
		return out
	}
	es, err := ETAEstimators(good, nil, all, 7)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"iter8", "point estimates", "oracle", KnownTruths, WithPast}, names(es)); d != "" {
		t.Errorf("canary-good's estimators (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]map[string]map[string]simulate.Dist{bad.Truth, good.Truth}, es[3].Options.Truths); d != "" {
		t.Errorf("known truths (-want +got):\n%s", d)
	}
	want, err := PastCanaries([]simulate.Scenario{bad, good}, experiment.PastCap, 7)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, es[4].Options.Past); d != "" {
		t.Errorf("past canaries (-want +got):\n%s", d)
	}
	es, err = ETAEstimators(perf, nil, all, 7)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"iter8", "point estimates", "oracle"}, names(es)); d != "" {
		t.Errorf("performance-pass's estimators (-want +got):\n%s", d)
	}
}
