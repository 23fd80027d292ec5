package events

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	long := strings.Repeat("ü", MaxSummary)
	for _, tc := range []struct {
		name string
		data any
		want string
	}{
		{"started", Started{Spec: ExperimentSpec{Kind: KindABN, Baseline: "shop-v1", Candidates: []string{"shop-v2", "shop-v3"}},
			Traffic: map[string]int{"shop-v2": 0, "shop-v1": 100, "shop-v3": 0}},
			"abn: baseline shop-v1, candidates shop-v2 shop-v3; traffic shop-v1=100 shop-v2=0 shop-v3=0"},
		{"assessed", Assessed{Iteration: 3, Leader: "shop-v2", Decision: "needs more samples"}, "iteration 3, leader shop-v2: needs more samples"},
		{"assessed without leader", Assessed{Iteration: 1}, "iteration 1"},
		{"traffic", TrafficChanged{Iteration: 4, To: map[string]int{"b": 60, "a": 40}, Reason: "bandit"}, "iteration 4: a=40 b=60 (bandit)"},
		{"completed", Completed{Outcome: OutcomePromoted, Winner: "shop-v2", Iteration: 30, Reason: "best"}, "promoted shop-v2 at iteration 30: best"},
		{"failed", Failed{Reason: "revision gone"}, "revision gone"},
		{"clipped on a rune", Failed{Reason: long}, strings.Repeat("ü", (MaxSummary-len("…"))/2) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(tc.data)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if len(got) > MaxSummary || !utf8.ValidString(got) {
				t.Errorf("summary of %d bytes (valid UTF-8: %v), want at most %d", len(got), utf8.ValidString(got), MaxSummary)
			}
		})
	}
}
