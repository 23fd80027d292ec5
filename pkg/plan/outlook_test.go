package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

// The outlook follows the Service's past candidates: all bad, the next
// canary is likely rolled back, and soon; all good, likely promoted;
// half and half, about half each, the rollback sooner. The plan's
// expected and bad cases do not move with the past.
func TestOutlookFollowsThePast(t *testing.T) {
	spec, err := events.ParseSpec([]byte(`{"kind":"canary","baseline":"v1","candidates":["v2"],
	  "metrics":[{"name":"errors","type":"ratio"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01}],
	  "limits":{"maxDuration":"30m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	a := Assumptions{Rate: 20, Values: map[string]map[string]float64{"v1": {"errors": 0.002}}}
	bad := experiment.Past{ID: "b", Outcome: "rollback", Ratios: map[string]experiment.Count{"errors": {Successes: 7, Trials: 90}}}
	good := experiment.Past{ID: "g", Outcome: "v2", Ratios: map[string]experiment.Count{"errors": {Successes: 1, Trials: 1222}}}
	plan := func(past ...experiment.Past) Plan {
		t.Helper()
		a := a
		a.Past = past
		p, err := Make(spec, a, Options{Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	none := plan()
	if none.Outlook != nil {
		t.Errorf("no past, outlook %+v; want none", none.Outlook)
	}
	allBad, allGood := plan(bad, bad, bad, bad), plan(good, good, good, good)
	mixed := plan(bad, good, bad, good)
	for name, p := range map[string]Plan{"all bad": allBad, "all good": allGood, "mixed": mixed} {
		o := p.Outlook
		if o == nil || o.Candidates != 4 || o.Runs != 4*o.RunsEach || o.RunsEach < MinOutlookRuns {
			t.Fatalf("%s: outlook %+v; want 4 candidates with the same runs each, at least %d", name, o, MinOutlookRuns)
		}
		sum := 0.0
		for out, s := range o.Outcomes {
			sum += s
			if ci := o.OutcomesCI[out]; ci[0] > s || ci[1] < s {
				t.Errorf("%s: %s %.2f outside its interval %v", name, out, s, ci)
			}
		}
		if sum < 0.999 || sum > 1.001 {
			t.Errorf("%s: outcome shares %v sum to %v", name, o.Outcomes, sum)
		}
		// The past changes the outlook only: the what-ifs stay as they
		// were without it.
		if diff := cmp.Diff(none.Outcomes, p.Outcomes); diff != "" {
			t.Errorf("%s: the expected case moved with the past (-none +past):\n%s", name, diff)
		}
		if diff := cmp.Diff(none.Bad, p.Bad); diff != "" {
			t.Errorf("%s: the bad cases moved with the past (-none +past):\n%s", name, diff)
		}
	}
	if s := allBad.Outlook.Outcomes["rollback"]; s < 0.9 {
		t.Errorf("past candidates at 8%% errors against a 1%% limit: rollback %.2f, want at least 0.9", s)
	}
	if s := allGood.Outlook.Outcomes["v2"]; s < 0.9 {
		t.Errorf("past candidates at 0.1%% errors: v2 promoted in %.2f, want at least 0.9", s)
	}
	m := mixed.Outlook
	if s := m.Outcomes["rollback"]; s < 0.35 || s > 0.65 {
		t.Errorf("half the past candidates bad: rollback %.2f, want about half", s)
	}
	if m.Times["rollback"] >= m.Times["v2"] {
		t.Errorf("rollback in %.0fs, promotion in %.0fs: want the rollback sooner", m.Times["rollback"], m.Times["v2"])
	}
	if allBad.Outlook.Share >= allGood.Outlook.Share {
		t.Errorf("a bad candidate's share of traffic %.3f, a good one's %.3f: want the bad one's smaller", allBad.Outlook.Share, allGood.Outlook.Share)
	}
}

// Past entries for metrics the spec does not have are left out; with none
// left there is no outlook, and other kinds never have one.
func TestOutlookNeedsAPastMetric(t *testing.T) {
	spec := canarySpec(t)
	a := Assumptions{Rate: 20, Values: map[string]map[string]float64{"v1": {"errors": 0.002, "latency": 60}},
		Past: []experiment.Past{{ID: "x", Ratios: map[string]experiment.Count{"timeouts": {Successes: 1, Trials: 10}}}}}
	p, err := Make(spec, a, Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if p.Outlook != nil {
		t.Errorf("a past of another metric: outlook %+v; want none", p.Outlook)
	}
}
