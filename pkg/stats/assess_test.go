package stats

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAssessDeterministic(t *testing.T) {
	p, data := benchProblem()
	a, err := Assess(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Assess(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("same inputs, different assessments (-first +second):\n%s", diff)
	}
	p.Seed++
	c, err := Assess(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Diff(a, c, cmpopts.EquateNaNs()) == "" {
		t.Errorf("another seed gave the identical assessment: the Monte Carlo ignores the seed")
	}
}

// TestAssessMatchesClosedForm checks the joint Monte Carlo against
// ProbBetaGreater for a two-version ratio reward without objectives.
func TestAssessMatchesClosedForm(t *testing.T) {
	const draws = 20000
	p := Problem{
		Metrics:    []Metric{{Name: "conversion", Kind: Ratio}},
		Reward:     &Reward{Metric: 0, Maximize: true},
		Confidence: 0.95,
		Draws:      draws,
		Seed:       7,
	}
	data := [][]Data{{{Successes: 100, Trials: 1000}}, {{Successes: 115, Trials: 1000}}}
	a, err := Assess(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ProbBetaGreater(1+115, 1+885, 1+100, 1+900)
	se := math.Sqrt(want * (1 - want) / draws)
	v := a.Versions[1]
	if math.Abs(v.ProbBeatsBaseline-want) > 4*se {
		t.Errorf("ProbBeatsBaseline %v, closed form %v", v.ProbBeatsBaseline, want)
	}
	// Without objectives, winning is beating the only rival.
	if math.Abs(v.ProbWin-want) > 4*se {
		t.Errorf("ProbWin %v, closed form %v", v.ProbWin, want)
	}
	sumWin, sumTop := 0.0, 0.0
	for _, vr := range a.Versions {
		sumWin += vr.ProbWin
		sumTop += vr.TopTwo
	}
	if math.Abs(sumWin-1) > 1e-12 || math.Abs(sumTop-1) > 1e-12 {
		t.Errorf("ProbWin sums to %v and TopTwo to %v, want 1", sumWin, sumTop)
	}
	// With two versions the runner-up is the loser: TopTwo = 1/2 each.
	if math.Abs(v.TopTwo-0.5) > 1e-12 {
		t.Errorf("TopTwo with two versions = %v, want 0.5", v.TopTwo)
	}
	if a.Leader != 1 {
		t.Errorf("Leader %d, want 1", a.Leader)
	}
	// Credible intervals of a ratio are the Beta posterior's.
	if m := v.Metrics[0]; !(m.Lower < 0.115 && 0.115 < m.Upper && m.Mean == 116.0/1002) {
		t.Errorf("posterior %+v for 115/1000", m)
	}
}

// TestAssessObjectives: a version far over a limit is Violated, has no
// chance of being feasible and never wins; one far under it is Satisfied.
func TestAssessObjectives(t *testing.T) {
	bounds := []float64{50, 100, 200, 400}
	p := Problem{
		Metrics: []Metric{
			{Name: "conversion", Kind: Ratio},
			{Name: "errors", Kind: Ratio},
			{Name: "latency-p90", Kind: Quantile, Q: 0.9},
			{Name: "cpu", Kind: Mean, Lo: 0, Hi: 100},
		},
		Objectives: []Objective{
			{Metric: 1, Upper: true, Limit: 0.05},
			{Metric: 2, Upper: true, Limit: 200},
			{Metric: 3, Upper: true, Limit: 1.2, Relative: true},
		},
		Reward:     &Reward{Metric: 0, Maximize: true},
		Confidence: 0.95,
		Seed:       3,
	}
	good := []Data{
		{Successes: 1000, Trials: 10000},
		{Successes: 100, Trials: 10000},
		{Bounds: bounds, Counts: []float64{5000, 4900, 100, 0, 0}},
		{Count: 10000, Mu: 1, M2: 10000 * 0.01},
	}
	// Better reward, but 20% errors, slow and hungry.
	bad := []Data{
		{Successes: 2000, Trials: 10000},
		{Successes: 2000, Trials: 10000},
		{Bounds: bounds, Counts: []float64{0, 1000, 1000, 8000, 0}},
		{Count: 10000, Mu: 2, M2: 10000 * 0.01},
	}
	a, err := Assess(p, [][]Data{good, bad, good}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantVerdicts := [][]Verdict{
		{Satisfied, Satisfied, Satisfied},
		{Violated, Violated, Violated},
		{Satisfied, Satisfied, Satisfied},
	}
	for v, vr := range a.Versions {
		if diff := cmp.Diff(wantVerdicts[v], vr.ObjectiveVerdicts); diff != "" {
			t.Errorf("version %d verdicts (-want +got):\n%s", v, diff)
		}
	}
	if a.Versions[1].Verdict != Violated || a.Versions[0].Verdict != Satisfied {
		t.Errorf("combined verdicts %v, %v", a.Versions[0].Verdict, a.Versions[1].Verdict)
	}
	if f := a.Versions[1].ProbFeasible; f != 0 {
		t.Errorf("violating version: ProbFeasible %v, want 0", f)
	}
	if w := a.Versions[1].ProbWin; w != 0 {
		t.Errorf("violating version: ProbWin %v, want 0", w)
	}
	if f := a.Versions[0].ProbFeasible; f < 0.99 {
		t.Errorf("good version: ProbFeasible %v", f)
	}
	// The infeasible version has the best reward, so it beats the baseline
	// on the reward alone.
	if pb := a.Versions[1].ProbBeatsBaseline; pb < 0.99 {
		t.Errorf("ProbBeatsBaseline %v for a far better reward", pb)
	}
	// Best is decided on reward among non-excluded versions only: with the
	// violator excluded, the two identical good versions tie.
	a, err = Assess(p, [][]Data{good, bad, good}, []bool{false, true, false})
	if err != nil {
		t.Fatal(err)
	}
	if a.Best != -1 {
		t.Errorf("Best %d among two identical versions", a.Best)
	}
	if a.Leader == 1 || a.Versions[1].TopTwo != 0 {
		t.Errorf("excluded version leads (%d) or gets traffic (%v)", a.Leader, a.Versions[1].TopTwo)
	}
}

// checkAssessment reports NaN where the contract does not allow it, and
// ratio summaries outside [0, 1].
func checkAssessment(t *testing.T, p Problem, a Assessment) {
	t.Helper()
	for v, vr := range a.Versions {
		allowed := func(name string) bool {
			switch name {
			case "ProbBeatsBaseline":
				return v == 0 || p.Reward == nil
			case "ProbWin", "TopTwo", "ExpectedLoss":
				return p.Reward == nil
			}
			return false
		}
		fields := map[string]float64{
			"Samples": vr.Samples, "ProbFeasible": vr.ProbFeasible, "ProbBeatsBaseline": vr.ProbBeatsBaseline,
			"ProbWin": vr.ProbWin, "TopTwo": vr.TopTwo, "ExpectedLoss": vr.ExpectedLoss,
		}
		for name, x := range fields {
			if math.IsNaN(x) && !allowed(name) {
				t.Errorf("version %d: %s is NaN", v, name)
			}
		}
		for i, m := range vr.Metrics {
			for _, x := range []float64{m.Mean, m.Lower, m.Upper} {
				if math.IsNaN(x) {
					t.Errorf("version %d, metric %d: NaN in %+v", v, i, m)
				}
			}
			// Only a quantile's confidence sequence is computed.
			if q := p.Metrics[i].Kind == Quantile; q == (math.IsNaN(m.CSLower) || math.IsNaN(m.CSUpper)) {
				t.Errorf("version %d, metric %d (quantile %v): confidence sequence %v, %v", v, i, q, m.CSLower, m.CSUpper)
			}
			if p.Metrics[i].Kind == Ratio && !(0 <= m.Lower && m.Lower <= m.Mean && m.Mean <= m.Upper && m.Upper <= 1) {
				t.Errorf("version %d, ratio %d: %+v out of order or range", v, i, m)
			}
		}
		for o, x := range vr.ObjectiveProbs {
			if !(x >= 0 && x <= 1) {
				t.Errorf("version %d: objective %d probability %v", v, o, x)
			}
		}
	}
}

func TestAssessEdgeCases(t *testing.T) {
	bounds := []float64{10, 100}
	all := []Metric{{Name: "r", Kind: Ratio}, {Name: "m", Kind: Mean}, {Name: "q", Kind: Quantile, Q: 0.99}}
	objectives := []Objective{
		{Metric: 0, Upper: true, Limit: 0.5},
		{Metric: 1, Upper: false, Limit: 2, Relative: true},
		{Metric: 2, Upper: true, Limit: 50},
		{Metric: 2, Upper: true, Limit: 1, Relative: true},
	}
	withReward := func(metric int, maximize bool) Problem {
		return Problem{Metrics: all, Objectives: objectives, Reward: &Reward{Metric: metric, Maximize: maximize}, Confidence: 0.95, Draws: 500, Seed: 1}
	}
	empty := []Data{{}, {}, {}}
	cases := []struct {
		name     string
		p        Problem
		data     [][]Data
		excluded []bool
	}{
		{"no observations", withReward(0, true), [][]Data{empty, empty}, nil},
		{"no observations, quantile reward", withReward(2, false), [][]Data{empty, empty}, nil},
		{"one version", withReward(1, true), [][]Data{{{Successes: 3, Trials: 9}, {Count: 1, Mu: 4}, {Bounds: bounds, Counts: []float64{1, 0, 0}}}}, nil},
		{"all successes, zero spread", withReward(0, true), [][]Data{
			{{Successes: 500, Trials: 500}, {Count: 500, Mu: 3}, {Bounds: bounds, Counts: []float64{500, 0, 0}}},
			{{Successes: 0, Trials: 500}, {Count: 500, Mu: 3}, {Bounds: bounds, Counts: []float64{0, 0, 500}}},
		}, nil},
		{"huge counts", withReward(1, false), [][]Data{
			{{Successes: 1e11, Trials: 1e12}, {Count: 1e12, Mu: 5, M2: 1e12}, {Bounds: bounds, Counts: []float64{9e11, 1e11, 0}}},
			{{Successes: 1.1e11, Trials: 1e12}, {Count: 1e12, Mu: 4, M2: 1e12}, {Bounds: bounds, Counts: []float64{8e11, 2e11, 0}}},
		}, nil},
		{"all excluded", withReward(0, true), [][]Data{empty, empty}, []bool{true, true}},
		{"no reward", Problem{Metrics: all, Objectives: objectives, Confidence: 0.9, Draws: 300}, [][]Data{empty, empty}, nil},
		{"no objectives", Problem{Metrics: all, Reward: &Reward{Metric: 0}, Confidence: 0.9, Draws: 300}, [][]Data{empty, empty}, nil},
		{"no metrics", Problem{Confidence: 0.9}, [][]Data{{}, {}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Assess(c.p, c.data, c.excluded)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Versions) != len(c.data) {
				t.Fatalf("%d version results for %d versions", len(a.Versions), len(c.data))
			}
			checkAssessment(t, c.p, a)
		})
	}
}

func TestAssessHugeCounts(t *testing.T) {
	p := Problem{
		Metrics:    []Metric{{Name: "r", Kind: Ratio}, {Name: "m", Kind: Mean, Lo: 0, Hi: 100}},
		Objectives: []Objective{{Metric: 0, Upper: true, Limit: 0.2}, {Metric: 1, Upper: true, Limit: 4.5}},
		Reward:     &Reward{Metric: 0, Maximize: true},
		Confidence: 0.95,
		Draws:      500,
	}
	data := [][]Data{
		{{Successes: 1e11, Trials: 1e12}, {Count: 1e12, Mu: 5, M2: 1e12}},
		{{Successes: 1.1e11, Trials: 1e12}, {Count: 1e12, Mu: 4, M2: 1e12}},
	}
	a, err := Assess(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]Verdict{{Satisfied, Violated}, {Satisfied, Satisfied}}, [][]Verdict{a.Versions[0].ObjectiveVerdicts, a.Versions[1].ObjectiveVerdicts}); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	if a.Best != 1 || a.Leader != 1 {
		t.Errorf("Best %d, Leader %d; want 1", a.Best, a.Leader)
	}
	m := a.Versions[0].Metrics[0]
	if !(m.Lower < 0.1 && 0.1 < m.Upper && m.Upper-m.Lower < 1e-5) {
		t.Errorf("ratio posterior %+v", m)
	}
}

func TestAssessErrors(t *testing.T) {
	ok := Problem{Metrics: []Metric{{Name: "latency", Kind: Quantile, Q: 0.9}}, Confidence: 0.95}
	h := func(bounds ...float64) Data { return Data{Bounds: bounds, Counts: make([]float64, len(bounds)+1)} }
	h1 := h(1, 2)
	h1.Counts[0] = 1
	h2 := h(1, 3)
	h2.Counts[0] = 1
	cases := []struct {
		name     string
		p        Problem
		data     [][]Data
		excluded []bool
		want     string
	}{
		{"confidence", Problem{Confidence: 1}, [][]Data{{}}, nil, "confidence"},
		{"no versions", ok, nil, nil, "no versions"},
		{"metric count", ok, [][]Data{{}}, nil, "metrics' data"},
		{"quantile q", Problem{Metrics: []Metric{{Name: "latency", Kind: Quantile, Q: 1}}, Confidence: 0.9}, [][]Data{{{}}}, nil, `"latency"`},
		{"kind", Problem{Metrics: []Metric{{Name: "x"}}, Confidence: 0.9}, [][]Data{{{}}}, nil, "unknown kind"},
		{"objective metric", Problem{Metrics: ok.Metrics, Objectives: []Objective{{Metric: 1}}, Confidence: 0.9}, [][]Data{{h1}}, nil, "objective 0"},
		{"reward metric", Problem{Metrics: ok.Metrics, Reward: &Reward{Metric: -1}, Confidence: 0.9}, [][]Data{{h1}}, nil, "reward"},
		{"exclusions", ok, [][]Data{{h1}}, []bool{true, false}, "exclusions"},
		{"bad histogram", ok, [][]Data{{Data{Bounds: []float64{2, 1}, Counts: []float64{0, 0, 0}}}}, nil, `metric "latency"`},
		{"bounds differ", ok, [][]Data{{h1}, {h2}}, nil, "bounds"},
		{"ratio", Problem{Metrics: []Metric{{Name: "conv", Kind: Ratio}}, Confidence: 0.9}, [][]Data{{{Successes: 2, Trials: 1}}}, nil, `"conv"`},
		{"mean", Problem{Metrics: []Metric{{Name: "cpu", Kind: Mean}}, Confidence: 0.9}, [][]Data{{{Count: 2, M2: math.NaN()}}}, nil, `"cpu"`},
		{"priors", Problem{Priors: &Priors{}, Confidence: 0.9}, [][]Data{{}}, nil, "prior"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Assess(c.p, c.data, c.excluded)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one mentioning %s", err, c.want)
			}
		})
	}
}

// TestAssessEmptyVersion: a version without data yet, next to versions
// with histograms, is assessed with the shared bounds.
func TestAssessEmptyVersion(t *testing.T) {
	p := Problem{Metrics: []Metric{{Name: "latency", Kind: Quantile, Q: 0.5}}, Confidence: 0.95, Draws: 200}
	full := Data{Bounds: []float64{10, 20}, Counts: []float64{100, 100, 0}}
	data := [][]Data{{full}, {{}}}
	a, err := Assess(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := a.Versions[1].Metrics[0]; !(m.Lower >= 0 && math.IsInf(m.Upper, 1)) {
		t.Errorf("empty version's posterior %+v: want from 0 to +Inf", m)
	}
	if len(data[1][0].Counts) != 0 {
		t.Errorf("Assess modified the caller's data")
	}
}

func TestObjectiveVerdict(t *testing.T) {
	pr := DefaultPriors()
	bounds := []float64{50, 100, 200}
	fast := Data{Bounds: bounds, Counts: []float64{900, 100, 0, 0}} // p90 in (50, 100]
	slow := Data{Bounds: bounds, Counts: []float64{0, 100, 900, 0}} // p90 in (100, 200]
	r10 := Data{Successes: 1000, Trials: 10000}
	r20 := Data{Successes: 2000, Trials: 10000}
	m5 := Data{Count: 5000, Mu: 5, M2: 5000}
	m6 := Data{Count: 5000, Mu: 6, M2: 5000}
	ratio, mean, p90 := Metric{Kind: Ratio}, Metric{Kind: Mean, Lo: 0, Hi: 20}, Metric{Kind: Quantile, Q: 0.9}
	cases := []struct {
		name string
		m    Metric
		o    Objective
		v, b Data
		base bool
		want Verdict
	}{
		{"ratio under upper limit", ratio, Objective{Upper: true, Limit: 0.15}, r10, r10, false, Satisfied},
		{"ratio over upper limit", ratio, Objective{Upper: true, Limit: 0.15}, r20, r10, false, Violated},
		{"ratio at the limit", ratio, Objective{Upper: true, Limit: 0.1}, r10, r10, false, Undecided},
		{"ratio over lower limit", ratio, Objective{Limit: 0.15}, r20, r10, false, Satisfied},
		{"ratio, too few trials", ratio, Objective{Upper: true, Limit: 0.5}, Data{Successes: 0, Trials: 5}, r10, false, Undecided},
		{"ratio relative, worse", ratio, Objective{Upper: true, Limit: 1.5, Relative: true}, r20, r10, false, Violated},
		{"ratio relative, within", ratio, Objective{Upper: true, Limit: 2.5, Relative: true}, r20, r10, false, Satisfied},
		{"mean under", mean, Objective{Upper: true, Limit: 5.5}, m5, m5, false, Satisfied},
		{"mean over", mean, Objective{Upper: true, Limit: 5.5}, m6, m5, false, Violated},
		{"mean lower limit", mean, Objective{Limit: 5.5}, m6, m5, false, Satisfied},
		{"mean without a range", Metric{Kind: Mean}, Objective{Upper: true, Limit: 5.5}, m5, m5, false, Undecided},
		{"mean without a top", Metric{Kind: Mean, Hi: math.Inf(1)}, Objective{Upper: true, Limit: 5.5}, m6, m5, false, Violated},
		{"mean, too few", mean, Objective{Upper: true, Limit: 10}, Data{Count: 5, Mu: 5, M2: 5}, m5, false, Undecided},
		{"mean relative, within", mean, Objective{Upper: true, Limit: 1.3, Relative: true}, m6, m5, false, Satisfied},
		{"mean relative, over", mean, Objective{Upper: true, Limit: 1.1, Relative: true}, m6, m5, false, Violated},
		{"baseline relative to itself", mean, Objective{Upper: true, Limit: 1.1, Relative: true}, m5, m5, true, Satisfied},
		{"baseline, impossible", mean, Objective{Upper: true, Limit: 0.9, Relative: true}, m5, m5, true, Violated},
		{"p90 under", p90, Objective{Upper: true, Limit: 100}, fast, fast, false, Satisfied},
		{"p90 over", p90, Objective{Upper: true, Limit: 100}, slow, fast, false, Violated},
		{"p90 between bounds, over", p90, Objective{Upper: true, Limit: 90}, slow, fast, false, Violated},
		{"p90 limit inside its bucket", p90, Objective{Upper: true, Limit: 75}, fast, fast, false, Undecided},
		{"p90 lower limit met", p90, Objective{Limit: 100}, slow, fast, false, Satisfied},
		{"p90 lower limit missed", p90, Objective{Limit: 150}, fast, fast, false, Violated},
		{"p90 beyond the histogram", p90, Objective{Upper: true, Limit: 1000}, Data{Bounds: bounds, Counts: []float64{0, 0, 0, 1000}}, fast, false, Undecided},
		{"p90 relative, slower", p90, Objective{Upper: true, Limit: 1, Relative: true}, slow, fast, false, Violated},
		{"p90 relative, faster", p90, Objective{Upper: true, Limit: 1, Relative: true}, fast, slow, false, Satisfied},
		{"p90 relative, same", p90, Objective{Upper: true, Limit: 1, Relative: true}, fast, fast, false, Undecided},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ObjectiveVerdict(c.m, c.o, c.v, c.b, c.base, 0.001, pr)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideBudget(t *testing.T) {
	p, data := benchProblem()
	dec, err := Decide(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	// delta 0.05: half to 4 objectives x 10 versions, half to Best.
	if diff := cmp.Diff([]float64{0.025 / 40, 0.025}, []float64{dec.Alpha, dec.DeltaBest}, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("budget (-want +got):\n%s", diff)
	}
	a, err := Assess(p, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for v := range data {
		if diff := cmp.Diff(dec.Verdicts[v], a.Versions[v].ObjectiveVerdicts); diff != "" {
			t.Errorf("version %d: Decide and Assess disagree (-decide +assess):\n%s", v, diff)
		}
	}
	if dec.Best != a.Best {
		t.Errorf("Decide's Best %d, Assess's %d", dec.Best, a.Best)
	}
	p.Reward = nil
	if dec, _ = Decide(p, data, nil); math.Abs(dec.Alpha-0.05/40) > 1e-15 || dec.Best != -1 {
		t.Errorf("without a reward: alpha %v, Best %d", dec.Alpha, dec.Best)
	}
}
