package present

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

// Progress is one gauge of how far a running experiment is from ending:
// its evidence against the confidence it needs, its samples against
// minSamples and maxSamples, and its running time against maxDuration.
type Progress struct {
	Label string `json:"label"`
	// Fraction is in [0, 1].
	Fraction float64 `json:"fraction"`
	Text     string  `json:"text"`
}

// ProgressOf returns the gauges of a Running or Paused experiment, and none
// once it has ended. The evidence gauge is the probability the decision
// rests on (P(best) of the leader, P(objectives) of the canary candidate
// or of the performance baseline) against the confidence; it is a guide:
// the decision itself is taken on anytime-valid confidence sequences,
// which are more demanding than the posterior.
func ProgressOf(in Input, now time.Time) []Progress {
	st := in.State
	if st.Phase != experiment.PhaseRunning && st.Phase != experiment.PhasePaused {
		return nil
	}
	spec := in.Spec.Defaulted()
	var out []Progress

	if ev, ok := evidence(spec, st); ok {
		out = append(out, ev)
	} else {
		out = append(out, Progress{Label: "evidence", Text: "waiting for the first metrics window"})
	}

	fewest, total := math.Inf(1), 0.0
	for i := range st.Versions {
		n := samplesOf(st, spec, i)
		total += n
		fewest = min(fewest, n)
	}
	if len(st.Versions) == 0 {
		fewest = 0
	}
	if minS := float64(spec.Limits.MinSamples); fewest < minS {
		out = append(out, Progress{Label: "samples", Fraction: fewest / minS,
			Text: fmt.Sprintf("fewest %s of minSamples %s", Count(int64(fewest)), Count(spec.Limits.MinSamples))})
	} else {
		maxS := float64(spec.Limits.MaxSamples)
		out = append(out, Progress{Label: "samples", Fraction: math.Min(1, total/maxS),
			Text: fmt.Sprintf("%s of maxSamples %s (minSamples met)", Count(int64(total)), Count(spec.Limits.MaxSamples))})
	}

	maxD := spec.Limits.MaxDuration.Duration
	ran := runningTime(st, now)
	if ran < 0 {
		ran = 0
	}
	text := fmt.Sprintf("%s of maxDuration %s", Duration(ran), Duration(maxD))
	if st.Phase == experiment.PhasePaused {
		text += " (stopped while paused)"
	}
	out = append(out, Progress{Label: "time", Fraction: math.Min(1, float64(ran)/float64(maxD)), Text: text})
	if e := in.ETA; e != nil && st.Phase == experiment.PhaseRunning {
		// The share of the expected whole run already behind it.
		done := ran.Seconds() / math.Max(ran.Seconds()+e.Point, 1)
		out = append(out, Progress{Label: "eta", Fraction: done, Text: ETAText(*e)})
	}
	return out
}

func evidence(spec events.ExperimentSpec, st experiment.State) (Progress, bool) {
	l := st.Last
	if l == nil || len(l.Prob) != len(st.Versions) || len(st.Versions) == 0 {
		return Progress{}, false
	}
	i, what := 0, "P(objectives)"
	switch spec.Kind {
	case events.KindCanary:
		i = 1
	case events.KindAB, events.KindABN:
		what = "P(best)"
		i = -1
		for k, v := range st.Versions {
			if v == l.Leader {
				i = k
			}
		}
		if i < 0 {
			return Progress{Label: "evidence", Text: "no leader yet"}, true
		}
	}
	if i >= len(l.Prob) {
		return Progress{}, false
	}
	p := l.Prob[i]
	if p < 0 {
		return Progress{Label: "evidence", Text: fmt.Sprintf("%s %s unknown", st.Versions[i], what)}, true
	}
	return Progress{
		Label:    "evidence",
		Fraction: math.Min(1, p/spec.Confidence),
		Text:     fmt.Sprintf("%s %s=%s, decides near %s", st.Versions[i], what, Prob(&p), Percent(spec.Confidence)),
	}, true
}

// Bar draws a fraction as a bar of width cells, such as "[######----]".
func Bar(f float64, width int) string {
	if math.IsNaN(f) || f < 0 {
		f = 0
	}
	f = math.Min(f, 1)
	n := int(math.Round(f * float64(width)))
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "]"
}

// WriteProgress prints the gauges, one per line.
func WriteProgress(w io.Writer, ps []Progress) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%3.0f%%\t%s\n", p.Label, Bar(p.Fraction, 20), 100*p.Fraction, p.Text)
	}
	return tw.Flush()
}
