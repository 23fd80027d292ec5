package experiment

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

func TestPastOf(t *testing.T) {
	finished := func(spec events.ExperimentSpec, phase Phase) State {
		st := mustStart(t, spec)
		st.Phase, st.Outcome, st.Since = phase, events.OutcomeRolledBack, events.Time{Time: t0.Add(3600e9)}
		for v := range st.Data {
			for j := range st.Data[v] {
				st.Data[v][j] = stats.Data{Successes: float64(v + 1), Trials: float64(100 * (v + 1))}
			}
		}
		return st
	}
	for _, c := range []struct {
		name string
		spec events.ExperimentSpec
		st   State
		want Past
		ok   bool
	}{{
		name: "a finished canary leaves its candidate's ratio counts",
		spec: canarySpec(), st: finished(canarySpec(), PhaseCompleted),
		want: Past{ID: "exp-1", Outcome: events.OutcomeRolledBack, Ended: events.Time{Time: t0.Add(3600e9)},
			Ratios: map[string]Count{"errors": {Successes: 2, Trials: 200}}},
		ok: true,
	}, {
		name: "a failed one too",
		spec: canarySpec(), st: finished(canarySpec(), PhaseFailed),
		want: Past{ID: "exp-1", Outcome: events.OutcomeRolledBack, Ended: events.Time{Time: t0.Add(3600e9)},
			Ratios: map[string]Count{"errors": {Successes: 2, Trials: 200}}},
		ok: true,
	}, {
		name: "a running canary leaves nothing",
		spec: canarySpec(), st: finished(canarySpec(), PhaseRunning),
	}, {
		name: "an A/B/n test leaves nothing",
		spec: abnSpec(), st: finished(abnSpec(), PhaseCompleted),
	}, {
		name: "a performance test leaves nothing",
		spec: perfSpec(), st: finished(perfSpec(), PhaseCompleted),
	}, {
		name: "a candidate that served nothing leaves nothing",
		spec: canarySpec(), st: func() State {
			st := finished(canarySpec(), PhaseCompleted)
			st.Data[1] = make([]stats.Data, len(st.Data[1]))
			return st
		}(),
	}} {
		got, ok := PastOf(c.spec, c.st)
		if ok != c.ok {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.ok)
		}
		if d := cmp.Diff(c.want, got); c.ok && d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
}

// The newest PastCap are kept, oldest first, and the caller's slice is
// left as it was.
func TestRememberKeepsTheNewest(t *testing.T) {
	var past []Past
	for i := range PastCap + 3 {
		past = Remember(past, Past{ID: string(rune('a' + i))})
	}
	var ids []string
	for _, p := range past {
		ids = append(ids, p.ID)
	}
	if d := cmp.Diff([]string{"d", "e", "f", "g", "h", "i", "j", "k"}, ids); d != "" {
		t.Errorf("kept (-want +got):\n%s", d)
	}
	full := past[:PastCap:PastCap]
	first := full[0].ID
	_ = Remember(full[:PastCap-1], Past{ID: "z"})
	if full[0].ID != first || full[PastCap-1].ID == "z" {
		t.Errorf("Remember wrote into its argument: %v", full)
	}
}

func TestValidatePastNamesTheField(t *testing.T) {
	ok := Past{Ratios: map[string]Count{"errors": {Successes: 1, Trials: 10}}}
	for _, c := range []struct {
		name string
		past []Past
		want string
	}{
		{"fine", []Past{ok, ok}, ""},
		{"too many", make([]Past, PastCap+1), "9 past canaries, at most 8"},
		{"negative", []Past{ok, {Ratios: map[string]Count{"errors": {Successes: -1, Trials: 10}}}}, "[1].ratios.errors"},
		{"more errors than requests", []Past{{Ratios: map[string]Count{"e": {Successes: 11, Trials: 10}}}}, "[0].ratios.e"},
		{"no requests", []Past{{Ratios: map[string]Count{"e": {}}}}, "[0].ratios.e"},
		{"NaN", []Past{{Ratios: map[string]Count{"e": {Successes: math.NaN(), Trials: 10}}}}, "[0].ratios.e"},
		{"infinite", []Past{{Ratios: map[string]Count{"e": {Successes: 1, Trials: math.Inf(1)}}}}, "[0].ratios.e"},
		{"beyond any canary", []Past{{Ratios: map[string]Count{"e": {Successes: 1, Trials: 1e13}}}}, "[0].ratios.e"},
	} {
		err := ValidatePast(c.past)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
}
