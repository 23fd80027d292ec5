package present

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteDescription prints d as `kn iter8 describe` does: the experiment's
// header, a table of versions, then one table of metrics per version.
func WriteDescription(w io.Writer, d Description) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }

	row("Service:", d.Namespace+"/"+d.Service)
	row("Experiment:", fmt.Sprintf("%s · id %s · confidence %s", d.Kind, d.ID, Percent(d.Confidence)))
	phase := d.Phase
	switch {
	case d.Outcome != "" && d.Winner != "":
		phase += fmt.Sprintf(" (%s %s)", d.Outcome, d.Winner)
	case d.Outcome != "":
		phase += fmt.Sprintf(" (%s)", d.Outcome)
	}
	row("Phase:", fmt.Sprintf("%s for %s", phase, d.PhaseAge))
	row("Reason:", orDash(d.Reason))
	row("Iteration:", fmt.Sprint(d.Iteration))
	row("Age:", fmt.Sprintf("%s (started %s)", d.Age, d.Started.Format("2006-01-02 15:04:05 MST")))
	if d.Leader != "" {
		row("Leader:", d.Leader)
	}
	if len(d.Excluded) > 0 {
		row("Excluded:", strings.Join(d.Excluded, ", "))
	}
	decision := orDash(d.Decision)
	if d.AssessedAt != nil {
		decision += fmt.Sprintf(" (as of iteration %d)", *d.AssessedAt)
	}
	row("Decision:", decision)
	row("Next:", d.Next)
	if d.ETAText != "" {
		row("ETA:", d.ETAText)
	}
	if past := d.PastText(); past != "" {
		row("Past canaries:", past)
	}
	for i, note := range d.Decidability {
		label := ""
		if i == 0 {
			label = "Undecidable:"
		}
		row(label, note)
	}
	if d.Load != "" {
		row("Load:", d.Load)
	}
	if len(d.OtherTraffic) > 0 {
		row("Other traffic:", Split(nil, d.OtherTraffic))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row = func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	row("VERSION", "ROLE", "TRAFFIC", "SAMPLES", "P(BEATS BASELINE)", "P(OBJECTIVES)", "P(WIN)", "VERDICT")
	for _, v := range d.Versions {
		verdict := orDash(v.Verdict)
		if v.Excluded {
			verdict += " (excluded)"
		}
		row(v.Version, v.Role, fmt.Sprintf("%d%%", v.Traffic), Count(v.Samples),
			Prob(v.ProbBeatsBaseline), Prob(v.ProbFeasible), Prob(v.ProbWin), verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	interval := Percent(d.Confidence) + " INTERVAL"
	for _, v := range d.Versions {
		fmt.Fprintf(w, "\n%s (%s, %d%% traffic)\n", v.Version, v.Role, v.Traffic)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		row = func(cells ...string) { fmt.Fprintln(tw, "  "+strings.Join(cells, "\t")) }
		row("METRIC", "MEAN", interval, "OBJECTIVE", "P(OBJECTIVE)", "VERDICT")
		for _, m := range v.Metrics {
			mean := "-"
			if m.Mean != nil {
				mean = WithUnit(Num(*m.Mean), m.Unit)
			}
			row(m.Metric, mean, WithUnit(Interval(m.Lower, m.Upper), m.Unit),
				orDash(m.Objective), Prob(m.ProbObjective), orDash(m.Verdict))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, m := range v.Metrics {
			if m.Caveat != "" {
				fmt.Fprintf(w, "  note: %s: %s\n", m.Metric, m.Caveat)
			}
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
