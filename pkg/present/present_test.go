package present

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/stats"
)

func ref[T any](v T) *T { return &v }

func TestNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.00285, "0.00285"}, {0.01, "0.0100"}, {0.1, "0.100"}, {1.5, "1.50"}, {12.345, "12.3"},
		{84.61, "84.6"}, {148.02, "148"}, {2104.4, "2104"}, {-3.14159, "-3.14"},
		{0.00001234, "1.23e-05"}, {12345678, "1.23e+07"}, {math.Inf(1), "∞"}, {math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := Num(tt.in); got != tt.want {
			t.Errorf("Num(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestProb(t *testing.T) {
	tests := []struct {
		in   *float64
		want string
	}{
		{nil, "-"}, {ref(-1.0), "-"}, {ref(math.NaN()), "-"}, {ref(0.0), "<0.001"}, {ref(0.0004), "<0.001"},
		{ref(0.0005), "0.001"}, {ref(0.5), "0.500"}, {ref(0.955), "0.955"}, {ref(0.9994), "0.999"},
		{ref(0.9995), ">0.999"}, {ref(1.0), ">0.999"},
	}
	for _, tt := range tests {
		name := "nil"
		if tt.in != nil {
			name = Num(*tt.in)
		}
		if got := Prob(tt.in); got != tt.want {
			t.Errorf("Prob(%s) = %q, want %q", name, got, tt.want)
		}
	}
}

func TestSmallFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{Count(0), "0"}, {Count(999), "999"}, {Count(1000), "1,000"}, {Count(1234567), "1,234,567"}, {Count(-4500), "-4,500"},
		{Percent(0.95), "95%"}, {Percent(0.999), "99.9%"},
		{Limit(0.01), "0.01"}, {Limit(250), "250"},
		{Interval(ref(0.1), ref(0.25)), "[0.100, 0.250]"}, {Interval(nil, ref(1.0)), "-"},
		{WithUnit("84.6", "ms"), "84.6 ms"}, {WithUnit("-", "ms"), "-"}, {WithUnit("3", ""), "3"},
		{Truncate("abcdef", 4), "abc…"}, {Truncate("abc", 4), "abc"}, {Truncate("ééééé", 3), "éé…"},
		{Split([]string{"v1", "v2"}, map[string]int{"v2": 30, "v1": 70, "old": 0}), "v1=70 v2=30 old=0"},
		{Split(nil, nil), "-"},
		{Bar(0.5, 10), "[#####-----]"}, {Bar(1.7, 4), "[####]"}, {Bar(math.NaN(), 4), "[----]"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestObjectiveText(t *testing.T) {
	spec := events.ExperimentSpec{Objectives: []events.Objective{
		{Metric: "errors", UpperLimit: ref(0.01)},
		{Metric: "latency", UpperLimitRelative: ref(1.1)},
		{Metric: "latency", UpperLimit: ref(300.0)},
		{Metric: "conversion", LowerLimitRelative: ref(0.95)},
		{Metric: "throughput", LowerLimit: ref(50.0)},
	}}
	tests := []struct{ metric, want string }{
		{"errors", "≤ 0.01"},
		{"latency", "≤ 1.1× baseline and ≤ 300"},
		{"conversion", "≥ 0.95× baseline"},
		{"throughput", "≥ 50"},
		{"other", ""},
	}
	for _, tt := range tests {
		if got := ObjectiveText(spec, tt.metric); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.metric, got, tt.want)
		}
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func canary() events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "shop-v1", Candidates: []string{"shop-v2"},
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio},
			{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms"},
		},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: ref(0.01)}, {Metric: "latency-p95", UpperLimit: ref(250.0)}},
		Limits:     events.Limits{MaxDuration: &events.Duration{Duration: 2 * time.Hour}, MinSamples: 500},
	}.Defaulted()
}

// running is a canary 30 minutes in, at iteration 3, with data on errors
// for both versions and on latency for the baseline only.
func running() Input {
	st := experiment.State{
		Schema: experiment.SchemaVersion, ID: "e-1", Phase: experiment.PhaseRunning, Reason: "started",
		Started: events.Time{Time: t0}, Updated: events.Time{Time: t0.Add(30 * time.Minute)}, Since: events.Time{Time: t0},
		Iteration: 3, Versions: []string{"shop-v1", "shop-v2"}, Traffic: map[string]int{"shop-v1": 70, "shop-v2": 30},
		Data: [][]stats.Data{
			{{Successes: 3, Trials: 900}, {Bounds: []float64{100, 250}, Counts: []float64{800, 90, 10}}},
			{{Successes: 2, Trials: 300}, {}},
		},
		Last: &experiment.Snapshot{Prob: []float64{0.99, 0.6}, Verdicts: []string{"satisfied", "undecided"}, Decision: "shop-v2 P(objectives)=0.600; waiting for a verdict"},
	}
	a := &events.Assessed{Iteration: 3, Phase: "running", Decision: st.Last.Decision, Versions: []events.VersionAssessment{
		{Version: "shop-v1", Samples: 900, ProbFeasible: 0.99, Verdict: "satisfied", Metrics: []events.MetricAssessment{
			{Metric: "errors", Mean: ref(0.0044), Lower: ref(0.001), Upper: ref(0.01), ProbObjective: ref(0.99), Verdict: "satisfied"},
			// A quantile whose mean could not be computed has none.
			{Metric: "latency-p95", Lower: ref(180.0), Upper: ref(240.0), ProbObjective: ref(0.99), Verdict: "satisfied"},
		}},
		{Version: "shop-v2", Samples: 300, ProbFeasible: 0.6, Verdict: "undecided", Metrics: []events.MetricAssessment{
			{Metric: "errors", Mean: ref(0.0099), Lower: ref(0.002), Upper: ref(0.024), ProbObjective: ref(0.6), Verdict: "undecided"},
			// Beyond the histogram's last bound: unbounded above.
			{Metric: "latency-p95", Lower: ref(250.0), ProbObjective: ref(0.5), Verdict: "undecided"},
		}},
	}}
	return Input{
		Namespace: "default", Service: "shop", Spec: canary(), State: st, Assessment: a,
		Traffic: map[string]int{"shop-v1": 70, "shop-v2": 25, "shop-v0": 5},
		Status:  "Running · canary · iteration 3",
	}
}

func TestDescribe(t *testing.T) {
	now := t0.Add(45 * time.Minute)
	tests := []struct {
		name  string
		input func() Input
		check func(t *testing.T, d Description)
	}{
		{"running", running, func(t *testing.T, d Description) {
			if d.Age != "45m" || d.Phase != "Running" || d.Iteration != 3 {
				t.Errorf("age %q phase %q iteration %d", d.Age, d.Phase, d.Iteration)
			}
			if diff := cmp.Diff(map[string]int{"shop-v0": 5}, d.OtherTraffic); diff != "" {
				t.Errorf("other traffic (-want +got):\n%s", diff)
			}
			if d.Versions[1].Traffic != 25 {
				t.Errorf("traffic of shop-v2 = %d, want the Service's live 25, not the engine's 30", d.Versions[1].Traffic)
			}
			want := "promote shop-v2 once every objective holds at 95%; roll back on a violation (or roll back, not shown satisfied, in 1h15m at maxDuration 2h)"
			if d.Next != want {
				t.Errorf("next = %q, want %q", d.Next, want)
			}
			p95 := d.Versions[0].Metrics[1]
			if p95.Mean != nil || Interval(p95.Lower, p95.Upper) != "[180, 240]" {
				t.Errorf("baseline p95: mean %v (want none: 0 is outside its interval), interval %s", p95.Mean, Interval(p95.Lower, p95.Upper))
			}
			if m := d.Versions[1].Metrics[1]; m.Mean != nil || m.Lower != nil {
				t.Errorf("candidate p95 has no data, yet shows %v %v", m.Mean, m.Lower)
			}
			if d.Versions[1].Metrics[0].Objective != "≤ 0.01" || d.Versions[1].Role != "candidate" {
				t.Errorf("candidate errors: %+v", d.Versions[1])
			}
		}},
		{"before the first window", func() Input {
			in := running()
			in.State.Last, in.Assessment, in.State.Iteration = nil, nil, 0
			return in
		}, func(t *testing.T, d Description) {
			if !strings.HasPrefix(d.Next, "waiting for the first metrics window; then promote shop-v2") {
				t.Errorf("next = %q", d.Next)
			}
			for _, v := range d.Versions {
				if v.ProbFeasible != nil || v.Metrics[0].Mean != nil {
					t.Errorf("%s shows an assessment that does not exist", v.Version)
				}
			}
		}},
		{"paused, with a lagging assessment", func() Input {
			in := running()
			in.State.Phase, in.State.Since = experiment.PhasePaused, events.Time{Time: t0.Add(40 * time.Minute)}
			in.State.Iteration = 4
			return in
		}, func(t *testing.T, d Description) {
			if d.PhaseAge != "5m" || !strings.HasPrefix(d.Next, "none while paused") || !strings.Contains(d.Next, "kn iter8 resume shop") {
				t.Errorf("phase age %q, next %q", d.PhaseAge, d.Next)
			}
			if d.AssessedAt == nil || *d.AssessedAt != 3 {
				t.Errorf("assessedAt = %v, want 3", d.AssessedAt)
			}
		}},
		{"failed", func() Input {
			in := running()
			in.State.Phase, in.State.Reason = experiment.PhaseFailed, "revision shop-v2 was deleted"
			return in
		}, func(t *testing.T, d Description) {
			if d.Decision != "revision shop-v2 was deleted" || !strings.HasPrefix(d.Next, "none: failed") {
				t.Errorf("decision %q next %q", d.Decision, d.Next)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Describe(tt.input(), now))
		})
	}
}

func TestWriteDescription(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDescription(&b, Describe(running(), t0.Add(45*time.Minute))); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Service:        default/shop\n",
		"Other traffic:  shop-v0=5\n",
		"shop-v2  candidate  25%      300      -                  0.600          -       undecided\n",
		"  errors       0.00440  [0.00100, 0.0100]  ≤ 0.01     0.990         satisfied\n",
		"  latency-p95  -        [180, 240] ms      ≤ 250      0.990         satisfied\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestProgressOf(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	in := running()
	got := ProgressOf(in, now)
	want := []Progress{
		{Label: "evidence", Fraction: 0.6 / 0.95, Text: "shop-v2 P(objectives)=0.600, decides near 95%"},
		{Label: "samples", Fraction: 300.0 / 500, Text: "fewest 300 of minSamples 500"},
		{Label: "time", Fraction: 0.25, Text: "30m of maxDuration 2h"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("running (-want +got):\n%s", diff)
	}
	// With an ETA of 90m more, a quarter of the expected whole run is done.
	in.ETA = &plan.ETA{Iteration: 3, Runs: 50, Point: 5400, P10: 3600, Median: 6000, P90: 7200, Decided: 0.9}
	eta := Progress{Label: "eta", Fraction: 0.25, Text: "~1h30m to a decision (median 1h40m; 10–90%: 1h–2h), 90% before maxDuration · 50 runs from iteration 3"}
	if diff := cmp.Diff(append(want, eta), ProgressOf(in, now)); diff != "" {
		t.Errorf("running with an ETA (-want +got):\n%s", diff)
	}

	in.State.Phase, in.State.Since = experiment.PhasePaused, events.Time{Time: t0.Add(20 * time.Minute)}
	in.State.PausedFor = events.Duration{Duration: 5 * time.Minute}
	if got := ProgressOf(in, now)[2]; got.Fraction != 0.125 || !strings.HasSuffix(got.Text, "(stopped while paused)") {
		t.Errorf("paused time gauge %+v; want 15m of 2h, stopped", got)
	}

	in.State.Phase = experiment.PhaseCompleted
	if got := ProgressOf(in, now); got != nil {
		t.Errorf("a completed experiment has gauges: %+v", got)
	}
}

func TestListGroupsByPhase(t *testing.T) {
	mk := func(ns, name string, phase experiment.Phase) Input {
		in := running()
		in.Namespace, in.Service, in.State.Phase = ns, name, phase
		return in
	}
	rows := List([]Input{
		mk("b", "z", experiment.PhaseFailed), mk("a", "y", experiment.PhaseCompleted),
		mk("b", "x", experiment.PhaseRunning), mk("a", "w", experiment.PhasePaused), mk("a", "v", experiment.PhaseRunning),
	}, t0.Add(time.Hour))
	var got []string
	for _, r := range rows {
		got = append(got, r.Namespace+"/"+r.Service)
	}
	if diff := cmp.Diff([]string{"a/v", "b/x", "a/w", "a/y", "b/z"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if rows[0].Traffic != "shop-v1=70 shop-v2=25 shop-v0=5" || rows[0].Age != "60m" {
		t.Errorf("row %+v", rows[0])
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"}, {90 * time.Second, "1m30s"}, {5 * time.Minute, "5m"}, {2 * time.Hour, "2h"},
		{75*time.Minute + 29*time.Second, "1h15m"}, {24 * time.Hour, "24h"}, {9*time.Minute + 500*time.Millisecond, "9m1s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.in); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDescribeShowsUndecidableLimits: describe lists every quantile limit
// inside a bucket with the limits the histogram can decide.
func TestDescribeShowsUndecidableLimits(t *testing.T) {
	limit := 120.0
	spec := events.ExperimentSpec{
		Kind: events.KindPerformance, Baseline: "v1",
		Metrics:    []events.MetricSpec{{Name: "latency", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms"}},
		Objectives: []events.Objective{{Metric: "latency", UpperLimit: &limit}},
	}.Defaulted()
	st, _, err := experiment.New().Start(spec, "perf-1", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	d := Describe(Input{Namespace: "default", Service: "perf", Spec: spec, State: st}, st.Started.Add(time.Minute))
	want := []string{"latency ≤ 120 ms: inside bucket (100, 250]; decidable at 100 or 250"}
	if diff := cmp.Diff(want, d.Decidability); diff != "" {
		t.Errorf("decidability (-want +got):\n%s", diff)
	}
	var b strings.Builder
	if err := WriteDescription(&b, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Undecidable:") || !strings.Contains(b.String(), want[0]) {
		t.Errorf("describe text lacks the note:\n%s", b.String())
	}
	if !strings.Contains(d.Next, "fail, not shown satisfied, in 23h59m at maxDuration 24h") {
		t.Errorf("next = %q, want the end at maxDuration", d.Next)
	}
}

// TestDescribeShowsLoad checks that describe, for an experiment with a
// load block, says what rate the generator achieved against the one
// requested, and warns when it fell behind.
func TestDescribeShowsLoad(t *testing.T) {
	limit := 0.01
	spec := events.ExperimentSpec{
		Kind: events.KindPerformance, Baseline: "v1",
		Metrics:    []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: &limit}},
		Load:       &events.LoadSpec{Rate: 100},
	}.Defaulted()
	st, _, err := experiment.New().Start(spec, "perf-1", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	st.Load = st.Load.Add(experiment.LoadBurst{Asked: 100, Requested: 100, Sent: 600, Seconds: 10})
	d := Describe(Input{Namespace: "default", Service: "perf", Spec: spec, State: st}, st.Started.Add(time.Minute))
	want := "load: 60 of 100 requests/s requested (1 bursts, 600 requests); WARNING: the generator could not keep up in 1 of 1 bursts: the verdict is for the load achieved, not the load requested"
	if diff := cmp.Diff(want, d.Load); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
	var b strings.Builder
	if err := WriteDescription(&b, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Load:") || !strings.Contains(b.String(), "could not keep up") {
		t.Errorf("describe text lacks the load:\n%s", b.String())
	}
}
