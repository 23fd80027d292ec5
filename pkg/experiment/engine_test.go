package experiment

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

func TestStart(t *testing.T) {
	ab := abnSpec()
	ab.Kind, ab.Candidates = events.KindAB, []string{"v2"}
	abInitial := ab
	abInitial.Traffic.InitialCandidatePercent = ref(30)
	abnInitial := abnSpec()
	abnInitial.Traffic.InitialCandidatePercent = ref(41)
	canary25 := canarySpec()
	canary25.Traffic.InitialCandidatePercent = ref(25)
	tests := []struct {
		name string
		spec events.ExperimentSpec
		want map[string]int
	}{
		{"canary default", canarySpec(), map[string]int{"v1": 90, "v2": 10}},
		{"canary initial", canary25, map[string]int{"v1": 75, "v2": 25}},
		{"ab equal", ab, map[string]int{"v1": 50, "v2": 50}},
		{"ab initial", abInitial, map[string]int{"v1": 70, "v2": 30}},
		{"abn equal, remainder to the baseline", abnSpec(), map[string]int{"v1": 34, "v2": 33, "v3": 33}},
		{"abn initial shared", abnInitial, map[string]int{"v1": 59, "v2": 21, "v3": 20}},
		{"performance leaves traffic alone", perfSpec(), map[string]int{"v1": 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, res, err := New().Start(tc.spec, "exp-1", t0.Add(time.Nanosecond).In(time.FixedZone("x", 3600)))
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			now := events.Time{Time: t0.Add(time.Nanosecond)}
			w := make([]int, len(tc.spec.Versions()))
			for i, v := range tc.spec.Versions() {
				w[i] = tc.want[v]
			}
			move := tc.want
			if tc.spec.Kind == events.KindPerformance {
				move = nil
			}
			wantState := State{
				Schema: SchemaVersion, ID: "exp-1", Phase: PhaseRunning, Reason: "started",
				Started: now, Updated: now, Since: now, Versions: tc.spec.Versions(), Traffic: tc.want,
				Data:    make([][]stats.Data, len(tc.spec.Versions())),
				History: History{Every: 1, Points: []Point{{Iteration: 0, Time: t0.Unix(), Traffic: w}}},
			}
			for i := range wantState.Data {
				wantState.Data[i] = make([]stats.Data, len(tc.spec.Metrics))
			}
			if diff := cmp.Diff(wantState, st); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			wantRes := Result{
				Traffic: move, Changed: true,
				Emit: []Outbound{{events.TypeExperimentStarted, events.Started{Spec: tc.spec.Defaulted(), Traffic: tc.want}}},
			}
			if diff := cmp.Diff(wantRes, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStartRejects(t *testing.T) {
	bad := canarySpec()
	bad.Candidates = nil
	_, _, err := New().Start(bad, "exp-1", t0)
	var fe events.FieldErrors
	if !errors.Is(err, ErrInvalidSpec) || !errors.As(err, &fe) || fe[0].Path != "spec.candidates" {
		t.Errorf("Start(no candidates) error = %v, want ErrInvalidSpec at spec.candidates", err)
	}
	if _, _, err := New().Start(canarySpec(), "", t0); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("Start(empty id) error = %v, want ErrInvalidSpec", err)
	}
}

// outcome is the part of a step's output the decision tables compare.
type outcome struct {
	Phase    Phase
	Outcome  string
	Winner   string
	Traffic  map[string]int // State.Traffic
	Move     map[string]int // Result.Traffic
	Excluded []string
	Emit     []string
	Reason   string // the Assessed decision
}

func summarize(st State, res Result) outcome {
	o := outcome{Phase: st.Phase, Outcome: st.Outcome, Winner: st.Winner, Traffic: st.Traffic,
		Move: res.Traffic, Excluded: st.Excluded, Emit: types(res)}
	for _, e := range res.Emit {
		if a, ok := e.Data.(events.Assessed); ok {
			o.Reason = a.Decision
		}
	}
	return o
}

const (
	assessedT = events.TypeExperimentAssessed
	changedT  = events.TypeTrafficChanged
	doneT     = events.TypeExperimentCompleted
)

func TestObserveCanary(t *testing.T) {
	keep := canarySpec()
	keep.OnSuccess, keep.OnFailure = events.ActionKeep, events.ActionKeep
	capped := canarySpec()
	capped.Traffic.MaxCandidatePercent = ref(50)
	fixedC := canarySpec()
	fixedC.Traffic.Strategy = events.StrategyFixed
	const enough, few = 100, 40
	tests := []struct {
		name    string
		spec    events.ExperimentSpec
		traffic map[string]int
		trials  int64 // per version
		a       []av
		want    outcome
	}{{
		name: "violation rolls back before minSamples", spec: canarySpec(), trials: few,
		a: []av{{verdict: stats.Undecided}, {verdict: stats.Violated, objectives: []stats.Verdict{stats.Violated, stats.Undecided}}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomeRolledBack,
			Traffic: map[string]int{"v1": 100, "v2": 0}, Move: map[string]int{"v1": 100, "v2": 0},
			Emit: []string{assessedT, changedT, doneT}, Reason: "v2 violates errors ≤ 0.01"},
	}, {
		name: "violation with onFailure keep leaves traffic", spec: keep, trials: few,
		a: []av{{}, {verdict: stats.Violated, objectives: []stats.Verdict{stats.Violated, stats.Violated}}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomeRolledBack,
			Traffic: map[string]int{"v1": 90, "v2": 10}, Emit: []string{assessedT, doneT},
			Reason: "v2 violates errors ≤ 0.01 and latency ≤ 100"},
	}, {
		name: "satisfied below minSamples ramps but does not promote", spec: canarySpec(), trials: few,
		a: []av{{}, {verdict: stats.Satisfied, feasible: 1}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 70, "v2": 30}, Move: map[string]int{"v1": 70, "v2": 30},
			Emit: []string{assessedT, changedT}, Reason: "waiting for minSamples: v2 has 40 of 100; ramping it from 10% to 30%"},
	}, {
		name: "satisfied promotes", spec: canarySpec(), trials: enough,
		a: []av{{}, {verdict: stats.Satisfied, feasible: 1}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v2",
			Traffic: map[string]int{"v1": 0, "v2": 100}, Move: map[string]int{"v1": 0, "v2": 100},
			Emit: []string{assessedT, changedT, doneT}, Reason: "v2 meets every objective"},
	}, {
		name: "satisfied with onSuccess keep leaves traffic", spec: keep, trials: enough,
		a: []av{{}, {verdict: stats.Satisfied, feasible: 1}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v2",
			Traffic: map[string]int{"v1": 90, "v2": 10}, Emit: []string{assessedT, doneT}, Reason: "v2 meets every objective"},
	}, {
		name: "evidence ramps the candidate", spec: canarySpec(), trials: enough,
		a: []av{{}, {feasible: 0.9}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 74, "v2": 26}, Move: map[string]int{"v1": 74, "v2": 26},
			Emit: []string{assessedT, changedT}, Reason: "v2 P(objectives)=0.900; ramping it from 10% to 26%"},
	}, {
		name: "weak evidence holds", spec: canarySpec(), trials: enough,
		a: []av{{}, {feasible: 0.4}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 90, "v2": 10}, Emit: []string{assessedT},
			Reason: "v2 P(objectives)=0.400; waiting for a verdict"},
	}, {
		name: "ramp stops at maxCandidatePercent", spec: capped, trials: enough, traffic: map[string]int{"v1": 55, "v2": 45},
		a: []av{{}, {feasible: 1}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 50, "v2": 50}, Move: map[string]int{"v1": 50, "v2": 50},
			Emit: []string{assessedT, changedT}, Reason: "v2 P(objectives)=1.000; ramping it from 45% to 50%"},
	}, {
		name: "at maxCandidatePercent it holds", spec: capped, trials: enough, traffic: map[string]int{"v1": 50, "v2": 50},
		a: []av{{}, {feasible: 1}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 50, "v2": 50}, Emit: []string{assessedT},
			Reason: "v2 P(objectives)=1.000; waiting for a verdict"},
	}, {
		name: "fixed strategy never ramps", spec: fixedC, trials: enough,
		a: []av{{}, {feasible: 1}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 90, "v2": 10}, Emit: []string{assessedT},
			Reason: "v2 P(objectives)=1.000; waiting for a verdict"},
	}, {
		name: "the baseline's verdict does not matter", spec: canarySpec(), trials: enough,
		a: []av{{verdict: stats.Violated}, {verdict: stats.Satisfied, feasible: 1}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v2",
			Traffic: map[string]int{"v1": 0, "v2": 100}, Move: map[string]int{"v1": 0, "v2": 100},
			Emit: []string{assessedT, changedT, doneT}, Reason: "v2 meets every objective"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := mustStart(t, tc.spec)
			if tc.traffic != nil {
				st = withTraffic(st, tc.traffic)
			}
			obs, now := ratioObs(tc.spec, 0, map[string][2]int64{"v1": {0, tc.trials}, "v2": {0, tc.trials}})
			e := New(WithAssessor(fixed(scripted(tc.spec, -1, -1, tc.a...))))
			next, res, err := e.Observe(tc.spec, st, obs, now)
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarize(next, res)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestObserveBandit(t *testing.T) {
	fixedS := abnSpec()
	fixedS.Traffic.Strategy = events.StrategyFixed
	keep := abnSpec()
	keep.OnSuccess, keep.OnFailure = events.ActionKeep, events.ActionKeep
	even := map[string]int{"v1": 34, "v2": 33, "v3": 33}
	tests := []struct {
		name     string
		spec     events.ExperimentSpec
		excluded []string
		trials   map[string]int64
		best     int
		leader   int
		a        []av
		want     outcome
	}{{
		name: "traffic follows top-two within maxIncrement", spec: abnSpec(), best: -1, leader: 2,
		a: []av{{win: 0.05, top: 0.1, feasible: 1}, {win: 0.15, top: 0.3, feasible: 1}, {win: 0.8, top: 0.6, feasible: 1}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 14, "v2": 33, "v3": 53},
			Move: map[string]int{"v1": 14, "v2": 33, "v3": 53}, Emit: []string{assessedT, changedT},
			Reason: "no version shown best yet; leader v3 P(best)=0.800"},
	}, {
		name: "a probably violating, undecided version keeps a 1/K weight", spec: abnSpec(), best: -1, leader: 1,
		a: []av{{win: 0.3, top: 0.4, feasible: 1}, {win: 0.7, top: 0.6, feasible: 1}, {win: 0, top: 0, feasible: 0.2}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 30, "v2": 45, "v3": 25},
			Move: map[string]int{"v1": 30, "v2": 45, "v3": 25}, Emit: []string{assessedT, changedT},
			Reason: "no version shown best yet; leader v2 P(best)=0.700"},
	}, {
		name: "a violating version is excluded and drained", spec: abnSpec(), best: -1, leader: 1,
		a: []av{{win: 0.3, top: 0.4, feasible: 1}, {win: 0.7, top: 0.5, feasible: 1}, {verdict: stats.Violated, win: 0, top: 0.1}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 47, "v2": 53, "v3": 0},
			Move: map[string]int{"v1": 47, "v2": 53, "v3": 0}, Excluded: []string{"v3"}, Emit: []string{assessedT, changedT},
			Reason: "no version shown best yet; leader v2 P(best)=0.700; excluded v3: violates errors ≤ 0.01"},
	}, {
		name: "every candidate excluded rolls back", spec: abnSpec(), excluded: []string{"v2"}, best: -1, leader: 0,
		a: []av{{win: 1, top: 1}, {verdict: stats.Violated}, {verdict: stats.Violated}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomeRolledBack,
			Traffic: map[string]int{"v1": 100, "v2": 0, "v3": 0}, Move: map[string]int{"v1": 100, "v2": 0, "v3": 0},
			Excluded: []string{"v2", "v3"}, Emit: []string{assessedT, changedT, doneT},
			Reason: "every candidate violates an objective; excluded v3: violates errors ≤ 0.01"},
	}, {
		name: "best and satisfied promotes", spec: abnSpec(), best: 2, leader: 2,
		a: []av{{}, {}, {verdict: stats.Satisfied, win: 0.99}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v3",
			Traffic: map[string]int{"v1": 0, "v2": 0, "v3": 100}, Move: map[string]int{"v1": 0, "v2": 0, "v3": 100},
			Emit: []string{assessedT, changedT, doneT}, Reason: "v3 is best on conversion and meets every objective"},
	}, {
		name: "baseline best is promoted", spec: abnSpec(), best: 0, leader: 0,
		a: []av{{verdict: stats.Satisfied, win: 0.99}, {}, {}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v1",
			Traffic: map[string]int{"v1": 100, "v2": 0, "v3": 0}, Move: map[string]int{"v1": 100, "v2": 0, "v3": 0},
			Emit: []string{assessedT, changedT, doneT}, Reason: "v1 is best on conversion and meets every objective"},
	}, {
		name: "onSuccess keep promotes without moving", spec: keep, best: 2, leader: 2,
		a: []av{{}, {}, {verdict: stats.Satisfied, win: 0.99}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v3", Traffic: even,
			Emit: []string{assessedT, doneT}, Reason: "v3 is best on conversion and meets every objective"},
	}, {
		name: "best but objectives undecided goes on", spec: fixedS, best: 2, leader: 2,
		a: []av{{}, {}, {win: 0.99}},
		want: outcome{Phase: PhaseRunning, Traffic: even, Emit: []string{assessedT},
			Reason: "v3 is best on conversion; waiting for its objectives"},
	}, {
		name: "best needs minSamples on every version left", spec: fixedS, best: 2, leader: 2,
		trials: map[string]int64{"v1": 100, "v2": 60, "v3": 100},
		a:      []av{{}, {}, {verdict: stats.Satisfied, win: 0.99}},
		want: outcome{Phase: PhaseRunning, Traffic: even, Emit: []string{assessedT},
			Reason: "waiting for minSamples 100: v2 has 60"},
	}, {
		name: "an excluded version needs no minSamples", spec: fixedS, excluded: []string{"v2"}, best: 2, leader: 2,
		trials: map[string]int64{"v1": 100, "v2": 60, "v3": 100},
		a:      []av{{}, {verdict: stats.Violated}, {verdict: stats.Satisfied, win: 0.99}},
		want: outcome{Phase: PhaseCompleted, Outcome: events.OutcomePromoted, Winner: "v3",
			Traffic: map[string]int{"v1": 0, "v2": 0, "v3": 100}, Move: map[string]int{"v1": 0, "v2": 0, "v3": 100},
			Excluded: []string{"v2"}, Emit: []string{assessedT, changedT, doneT},
			Reason: "v3 is best on conversion and meets every objective"},
	}, {
		name: "fixed holds the initial split", spec: fixedS, best: -1, leader: 2,
		a: []av{{top: 0}, {top: 0}, {win: 0.9, top: 1}},
		want: outcome{Phase: PhaseRunning, Traffic: even, Emit: []string{assessedT},
			Reason: "no version shown best yet; leader v3 P(best)=0.900"},
	}, {
		name: "fixed redistributes an excluded version's share", spec: fixedS, best: -1, leader: 2,
		a: []av{{}, {verdict: stats.Violated}, {win: 0.9}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 51, "v2": 0, "v3": 49},
			Move: map[string]int{"v1": 51, "v2": 0, "v3": 49}, Excluded: []string{"v2"}, Emit: []string{assessedT, changedT},
			Reason: "no version shown best yet; leader v3 P(best)=0.900; excluded v2: violates errors ≤ 0.01"},
	}, {
		name: "an excluded best is not promoted", spec: fixedS, best: 2, leader: 2,
		a: []av{{}, {}, {verdict: stats.Violated, win: 0.9}},
		want: outcome{Phase: PhaseRunning, Traffic: map[string]int{"v1": 51, "v2": 49, "v3": 0},
			Move: map[string]int{"v1": 51, "v2": 49, "v3": 0}, Excluded: []string{"v3"}, Emit: []string{assessedT, changedT},
			Reason: "no version shown best yet; leader v3 P(best)=0.900; excluded v3: violates errors ≤ 0.01"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := mustStart(t, tc.spec)
			st.Excluded = tc.excluded
			trials := tc.trials
			if trials == nil {
				trials = map[string]int64{"v1": 100, "v2": 100, "v3": 100}
			}
			counts := map[string][2]int64{}
			for v, n := range trials {
				counts[v] = [2]int64{0, n}
			}
			obs, now := ratioObs(tc.spec, 0, counts)
			e := New(WithAssessor(fixed(scripted(tc.spec, tc.best, tc.leader, tc.a...))))
			next, res, err := e.Observe(tc.spec, st, obs, now)
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarize(next, res)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestObservePerformance(t *testing.T) {
	solo := map[string]int{"v1": 100}
	tests := []struct {
		name   string
		trials int64
		a      av
		want   outcome
	}{
		{"violation fails at once", 10, av{verdict: stats.Violated, objectives: []stats.Verdict{stats.Undecided, stats.Violated}},
			outcome{Phase: PhaseCompleted, Outcome: events.OutcomeFailedSLO, Traffic: solo, Emit: []string{assessedT, doneT},
				Reason: "v1 violates latency-p95 ≤ 150"}},
		{"pass needs minSamples", 10, av{verdict: stats.Satisfied, feasible: 1},
			outcome{Phase: PhaseRunning, Traffic: solo, Emit: []string{assessedT}, Reason: "waiting for minSamples: v1 has 10 of 100"}},
		{"pass", 100, av{verdict: stats.Satisfied, feasible: 1},
			outcome{Phase: PhaseCompleted, Outcome: events.OutcomePassed, Traffic: solo, Emit: []string{assessedT, doneT},
				Reason: "v1 meets every objective"}},
		{"undecided", 100, av{feasible: 0.7},
			outcome{Phase: PhaseRunning, Traffic: solo, Emit: []string{assessedT}, Reason: "v1 P(objectives)=0.700; waiting for a verdict"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := perfSpec()
			st := mustStart(t, spec)
			obs, now := ratioObs(spec, 0, map[string][2]int64{"v1": {0, tc.trials}})
			e := New(WithAssessor(fixed(scripted(spec, -1, -1, tc.a))))
			next, res, err := e.Observe(spec, st, obs, now)
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarize(next, res)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	undecided := New(WithAssessor(fixed(scripted(canarySpec(), -1, -1, av{}, av{feasible: 0.4}))))
	small := canarySpec()
	small.Limits = events.Limits{MaxSamples: 150, MinSamples: 10, MaxDuration: &events.Duration{Duration: time.Hour}}
	keep := small
	keep.OnFailure = events.ActionKeep

	t.Run("maxSamples", func(t *testing.T) {
		st := mustStart(t, small)
		obs, now := ratioObs(small, 0, map[string][2]int64{"v1": {0, 100}, "v2": {0, 50}})
		next, res, err := undecided.Observe(small, st, obs, now)
		if err != nil {
			t.Fatal(err)
		}
		want := outcome{Phase: PhaseCompleted, Outcome: events.OutcomeRolledBack,
			Traffic: map[string]int{"v1": 100, "v2": 0}, Move: map[string]int{"v1": 100, "v2": 0},
			Emit: []string{assessedT, changedT, doneT}, Reason: "maxSamples 150 reached: v2 not shown satisfied"}
		if diff := cmp.Diff(want, summarize(next, res)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("maxDuration in Observe, onFailure keep", func(t *testing.T) {
		st := mustStart(t, keep)
		w := events.Window{Start: events.Time{Time: t0.Add(59 * time.Minute)}, End: events.Time{Time: t0.Add(time.Hour)}}
		obs := events.MetricsObserved{Window: w}
		next, res, err := undecided.Observe(keep, st, obs, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := outcome{Phase: PhaseCompleted, Outcome: events.OutcomeRolledBack,
			Traffic: map[string]int{"v1": 90, "v2": 10}, Emit: []string{assessedT, doneT},
			Reason: "maxDuration 1h0m0s reached: v2 not shown satisfied"}
		if diff := cmp.Diff(want, summarize(next, res)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("Tick", func(t *testing.T) {
		st := mustStart(t, small)
		same, res, err := New().Tick(small, st, t0.Add(59*time.Minute))
		if err != nil || res.Changed || len(res.Emit) != 0 || !cmp.Equal(st, same) {
			t.Fatalf("Tick before maxDuration = %+v, %+v, %v; want no change", same, res, err)
		}
		next, res, err := New().Tick(small, st, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := outcome{Phase: PhaseCompleted, Outcome: events.OutcomeRolledBack,
			Traffic: map[string]int{"v1": 100, "v2": 0}, Move: map[string]int{"v1": 100, "v2": 0},
			Emit: []string{changedT, doneT}}
		if diff := cmp.Diff(want, summarize(next, res)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if _, _, err := New().Tick(small, next, t0.Add(2*time.Hour)); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Tick after completion error = %v, want ErrNotRunning", err)
		}
	})
	t.Run("paused time does not count", func(t *testing.T) {
		st := mustStart(t, small)
		paused, _, err := New().Control(small, st, events.Control{Action: events.ActionPause}, t0.Add(30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if _, res, err := New().Tick(small, paused, t0.Add(5*time.Hour)); err != nil || res.Changed {
			t.Fatalf("Tick while paused = %+v, %v; want no change", res, err)
		}
		resumed, _, err := New().Control(small, paused, events.Control{Action: events.ActionResume}, t0.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got := resumed.PausedFor.Duration; got != 90*time.Minute {
			t.Errorf("PausedFor = %s, want 1h30m", got)
		}
		if _, res, err := New().Tick(small, resumed, t0.Add(2*time.Hour+29*time.Minute)); err != nil || res.Changed {
			t.Fatalf("Tick at 59m of running time = %+v, %v; want no change", res, err)
		}
		if next, _, err := New().Tick(small, resumed, t0.Add(2*time.Hour+30*time.Minute)); err != nil || next.Outcome != events.OutcomeRolledBack {
			t.Fatalf("Tick at 60m of running time: outcome %q, error %v; want rolledBack", next.Outcome, err)
		}
	})
}

func TestObservePaused(t *testing.T) {
	spec := canarySpec()
	st := mustStart(t, spec)
	st, _, err := New().Control(spec, st, events.Control{Action: events.ActionPause, Reason: "weekend"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	e := New(WithAssessor(fixed(scripted(spec, -1, -1, av{}, av{verdict: stats.Violated}))))
	obs, now := ratioObs(spec, 0, map[string][2]int64{"v1": {1, 500}, "v2": {9, 100}})
	next, res, err := e.Observe(spec, st, obs, now)
	if err != nil {
		t.Fatal(err)
	}
	want := outcome{Phase: PhasePaused, Traffic: map[string]int{"v1": 90, "v2": 10}, Emit: []string{assessedT},
		Reason: "paused: assessing without deciding; traffic frozen"}
	if diff := cmp.Diff(want, summarize(next, res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := next.Data[1][0]; got.Successes != 9 || got.Trials != 100 || next.Iteration != 1 {
		t.Errorf("paused Observe did not fold the data: iteration %d, v2 errors %+v", next.Iteration, got)
	}
	if next.Reason != "paused by request: weekend" {
		t.Errorf("Reason = %q", next.Reason)
	}
}
