package experiment

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/iter8-knative/iter8/events"
)

// These tests run the engine with the real stats.Assess on data drawn
// from known distributions, as the shared scenarios do.

// draw returns one request's value of a metric.
type draw func(r *rand.Rand) float64

func bernoulli(p float64) draw {
	return func(r *rand.Rand) float64 {
		if r.Float64() < p {
			return 1
		}
		return 0
	}
}

func lognormal(mu, sigma float64) draw {
	return func(r *rand.Rand) float64 { return math.Exp(mu + sigma*r.NormFloat64()) }
}

var latencyBounds = []float64{25, 50, 75, 100, 150, 200, 300, 500}

// run drives an experiment to completion or maxIter windows, sending
// perWindow requests per window split by the current traffic. With
// roundTrip the state goes through JSON between calls, as it does through
// the annotation. It returns the final state and a trace of every output.
func run(t *testing.T, spec events.ExperimentSpec, truth map[string]map[string]draw, perWindow, maxIter int, seed uint64, roundTrip bool) (State, []string) {
	st, trace, _ := runEmitting(t, spec, truth, perWindow, maxIter, seed, roundTrip)
	return st, trace
}

// runEmitting is run that also returns every event emitted.
func runEmitting(t *testing.T, spec events.ExperimentSpec, truth map[string]map[string]draw, perWindow, maxIter int, seed uint64, roundTrip bool) (State, []string, []Outbound) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	st, res, err := New().Start(spec, "scenario", t0)
	if err != nil {
		t.Fatal(err)
	}
	trace := []string{mustJSON(t, st), mustJSON(t, res)}
	emitted := res.Emit
	for i := 0; i < maxIter && st.Phase == PhaseRunning; i++ {
		obs, now := window(i)
		obs2 := events.MetricsObserved{Window: obs, Versions: map[string]map[string]events.Observation{}}
		for _, v := range st.Versions {
			n := perWindow
			if st.Traffic != nil {
				n = perWindow * st.Traffic[v] / 100
			}
			if n == 0 {
				continue
			}
			obs2.Versions[v] = observe(r, spec, truth[v], n)
		}
		if roundTrip {
			var back State
			if err := json.Unmarshal([]byte(mustJSON(t, st)), &back); err != nil {
				t.Fatal(err)
			}
			st = back
		}
		st, res, err = New().Observe(spec, st, obs2, now)
		if err != nil {
			t.Fatalf("window %d: %v", i, err)
		}
		trace = append(trace, mustJSON(t, st), mustJSON(t, res.Emit), mustJSON(t, res.Traffic))
		emitted = append(emitted, res.Emit...)
	}
	return st, trace, emitted
}

// observe aggregates n requests of one version into one window.
func observe(r *rand.Rand, spec events.ExperimentSpec, truth map[string]draw, n int) map[string]events.Observation {
	out := map[string]events.Observation{}
	names := make([]string, 0, len(spec.Metrics))
	for _, m := range spec.Metrics {
		names = append(names, m.Name)
	}
	sort.Strings(names) // draw in a fixed order
	for _, name := range names {
		var m events.MetricSpec
		for _, ms := range spec.Metrics {
			if ms.Name == name {
				m = ms
			}
		}
		var o events.Observation
		switch m.Type {
		case events.MetricRatio:
			s := int64(0)
			for range n {
				s += int64(truth[name](r))
			}
			o = events.Observation{Successes: ref(s), Trials: ref(int64(n))}
		case events.MetricMean:
			sum, sq := 0.0, 0.0
			for range n {
				x := truth[name](r)
				sum += x
				sq += x * x
			}
			o = events.Observation{Count: ref(int64(n)), Sum: ref(sum), SumSquares: ref(sq)}
		case events.MetricQuantile:
			counts := make([]int64, len(latencyBounds)+1)
			for range n {
				counts[sort.SearchFloat64s(latencyBounds, truth[name](r))]++
			}
			o = events.Observation{Bounds: latencyBounds, Counts: counts}
		}
		out[name] = o
	}
	return out
}

func TestRealCanary(t *testing.T) {
	good := map[string]draw{"errors": bernoulli(0.002), "latency": lognormal(4, 0.3)}
	bad := map[string]draw{"errors": bernoulli(0.05), "latency": lognormal(4, 0.3)}
	t.Run("good candidate ramps and is promoted", func(t *testing.T) {
		st, _ := run(t, canarySpec(), map[string]map[string]draw{"v1": good, "v2": good}, 500, 200, 1, false)
		if st.Outcome != events.OutcomePromoted || st.Winner != "v2" {
			t.Fatalf("outcome %q winner %q (%s), want v2 promoted", st.Outcome, st.Winner, st.Reason)
		}
		prev := 0
		for _, p := range st.History.Points {
			if p.Traffic[1] < prev {
				t.Errorf("candidate went down from %d%% to %d%% at iteration %d", prev, p.Traffic[1], p.Iteration)
			}
			prev = p.Traffic[1]
		}
		if ramps := st.History.Points[len(st.History.Points)-2].Traffic[1]; ramps <= 10 {
			t.Errorf("candidate never ramped above its initial 10%% before promotion: %v", st.History.Points)
		}
	})
	t.Run("bad candidate is rolled back", func(t *testing.T) {
		st, _ := run(t, canarySpec(), map[string]map[string]draw{"v1": good, "v2": bad}, 500, 200, 2, false)
		if st.Outcome != events.OutcomeRolledBack || st.Traffic["v1"] != 100 {
			t.Fatalf("outcome %q traffic %v (%s), want rolledBack to v1", st.Outcome, st.Traffic, st.Reason)
		}
	})
}

func TestRealABN(t *testing.T) {
	truth := map[string]map[string]draw{
		"v1": {"conversion": bernoulli(0.10), "errors": bernoulli(0.001)},
		"v2": {"conversion": bernoulli(0.20), "errors": bernoulli(0.001)},
		"v3": {"conversion": bernoulli(0.25), "errors": bernoulli(0.05)},
	}
	st, _ := run(t, abnSpec(), truth, 1000, 300, 3, false)
	if st.Outcome != events.OutcomePromoted || st.Winner != "v2" {
		t.Fatalf("outcome %q winner %q (%s), want v2 promoted", st.Outcome, st.Winner, st.Reason)
	}
	if !cmp.Equal(st.Excluded, []string{"v3"}) {
		t.Errorf("excluded %v, want [v3]: it violates the error objective", st.Excluded)
	}
}

func TestRealPerformance(t *testing.T) {
	spec := perfSpec()
	pass := map[string]map[string]draw{"v1": {"errors": bernoulli(0.002), "latency-p95": lognormal(4, 0.3)}}
	st, _ := run(t, spec, pass, 500, 100, 4, false)
	if st.Outcome != events.OutcomePassed {
		t.Errorf("outcome %q (%s), want passed", st.Outcome, st.Reason)
	}
	fail := map[string]map[string]draw{"v1": {"errors": bernoulli(0.002), "latency-p95": lognormal(5, 0.3)}}
	st, _ = run(t, spec, fail, 500, 100, 5, false)
	if st.Outcome != events.OutcomeFailedSLO {
		t.Errorf("outcome %q (%s), want failedObjectives", st.Outcome, st.Reason)
	}
}

// TestDeterminism runs one experiment three times: twice as is and once
// with the state round-tripped through JSON between calls. Every output
// must be identical.
func TestDeterminism(t *testing.T) {
	truth := map[string]map[string]draw{
		"v1": {"conversion": bernoulli(0.10), "errors": bernoulli(0.001)},
		"v2": {"conversion": bernoulli(0.12), "errors": bernoulli(0.001)},
		"v3": {"conversion": bernoulli(0.11), "errors": bernoulli(0.02)},
	}
	_, first := run(t, abnSpec(), truth, 500, 12, 6, false)
	_, second := run(t, abnSpec(), truth, 500, 12, 6, false)
	_, viaJSON := run(t, abnSpec(), truth, 500, 12, 6, true)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second run differs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(first, viaJSON); diff != "" {
		t.Errorf("run with JSON round trips differs (-first +round-tripped):\n%s", diff)
	}
	if len(first) < 3*12 {
		t.Errorf("only %d outputs: the experiment ended before the comparison meant much", len(first))
	}
}

// TestStateStaysSmall checks that a long experiment's state fits easily in
// an annotation: history is downsampled and data are sufficient statistics.
func TestStateStaysSmall(t *testing.T) {
	same := map[string]draw{"conversion": bernoulli(0.10), "errors": bernoulli(0.001)}
	st, _ := run(t, abnSpec(), map[string]map[string]draw{"v1": same, "v2": same, "v3": same}, 200, 300, 7, false)
	if st.Iteration != 300 {
		t.Fatalf("the A/A/A experiment ended at iteration %d (%s %s); want it undecided at 300", st.Iteration, st.Outcome, st.Reason)
	}
	if n := len(mustJSON(t, st)); n > 8<<10 {
		t.Errorf("state is %d bytes after 300 iterations, want at most 8 KiB", n)
	}
	if n := len(st.History.Points); n > MaxHistory || n < MaxHistory/4 {
		t.Errorf("history has %d points, want between %d and %d", n, MaxHistory/4, MaxHistory)
	}
}

func BenchmarkObserveABN(b *testing.B) {
	spec := abnSpec()
	st, _, err := New().Start(spec, "bench", t0)
	if err != nil {
		b.Fatal(err)
	}
	obs, now := ratioObs(spec, 0, map[string][2]int64{"v1": {50, 1000}, "v2": {60, 1000}, "v3": {55, 1000}})
	for b.Loop() {
		if _, _, err := New().Observe(spec, st, obs, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkObserveCanary(b *testing.B) {
	spec := canarySpec()
	st, _, err := New().Start(spec, "bench", t0)
	if err != nil {
		b.Fatal(err)
	}
	obs, now := ratioObs(spec, 0, map[string][2]int64{"v1": {1, 900}, "v2": {0, 100}})
	for _, v := range []string{"v1", "v2"} {
		obs.Versions[v]["latency"] = events.Observation{Count: ref(int64(100)), Sum: ref(5000.0), SumSquares: ref(260000.0)}
	}
	for b.Loop() {
		if _, _, err := New().Observe(spec, st, obs, now); err != nil {
			b.Fatal(err)
		}
	}
}
