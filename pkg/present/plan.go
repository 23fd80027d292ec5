package present

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iter8-knative/iter8/pkg/plan"
)

// WritePlan prints a plan as `kn iter8 plan` does: what was assumed, the
// distribution of requests and time to a decision, the chance of each
// outcome, the exposure of a bad candidate, then warnings and suggestions.
func WritePlan(w io.Writer, p plan.Plan) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	window := fmt.Sprintf("windows of %s", secs(p.Window))
	if p.Coarsened > 1 {
		window += fmt.Sprintf(" (%d real windows folded into one)", p.Coarsened)
	}
	row("Plan:", fmt.Sprintf("%s experiment, %s, %s requests/s, %s", p.Kind, strings.Join(p.Versions, " vs "), Num(p.Rate), window))
	method := fmt.Sprintf("%d simulated runs of the real engine", p.Runs)
	if p.PilotRuns > 0 {
		method += fmt.Sprintf(" (after a coarse pilot of %d)", p.PilotRuns)
	}
	row("Method:", fmt.Sprintf("%s, seed %d", method, p.Seed))
	count := func(x float64) string { return Count(int64(x)) }
	row("Requests:", quantiles(p.Samples, count))
	row("Time:", quantiles(p.Time, secs))
	row("In time:", fmt.Sprintf("%s decide before maxDuration %s  (95%% MC: %s)", pct(p.Decided), secs(p.MaxDuration), pctRange(p.DecidedCI)))
	row("Outcomes:", outcomes(p))
	if p.Outlook != nil {
		row("Outlook:", outlook(*p.Outlook))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row = func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	metrics := sortedKeys(p.Assumed[p.Versions[0]])
	row(append([]string{"ASSUMED"}, upper(metrics)...)...)
	for _, v := range p.Versions {
		cells := []string{v}
		for _, m := range metrics {
			cells = append(cells, Num(p.Assumed[v][m]))
		}
		row(cells...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Bad) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		row = func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
		fmt.Fprintln(w, "A candidate as bad as the SLO margin (in parentheses: 95% MC intervals):")
		row("IF BAD", "METRIC", "VALUE", "LIMIT", "REQUESTS TO IT", "SHARE", "CAUGHT IN TIME", "MEDIAN TIME", "RUNS")
		for _, e := range p.Bad {
			row(e.Version, e.Metric, Num(e.Value), Num(e.Limit),
				fmt.Sprintf("%s (%s–%s)", Count(int64(math.Round(e.Requests))), Count(int64(math.Floor(e.RequestsCI[0]))), Count(int64(math.Ceil(e.RequestsCI[1])))),
				fmt.Sprintf("%s (%s)", pct(e.Share), pctRange(e.ShareCI)),
				fmt.Sprintf("%s (%s)", pct(e.Caught), pctRange(e.CaughtCI)),
				fmt.Sprintf("%s (%s–%s)", secs(e.Time), secs(e.TimeCI[0]), secs(e.TimeCI[1])), fmt.Sprint(e.Runs))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, s := range p.Warnings {
		fmt.Fprintf(w, "\nWarning: %s", s)
	}
	for i, s := range p.Suggestions {
		if i == 0 {
			fmt.Fprint(w, "\n\nWhat would help:")
		}
		fmt.Fprintf(w, "\n  - %s", s)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// ETAText is the one-line ETA: "~9m to a decision (median 12m; 10–90%:
// 5m–31m), 92% before maxDuration"; the ETA is the lower 40% of the
// forward runs (plan.ETALevel), so the median is shown beside it. When
// the forward runs split between outcomes, the likely ones follow with
// their own median times (ETAOutcomes).
func ETAText(e plan.ETA) string {
	split := ""
	if o := ETAOutcomes(e); o != "" {
		split = " · " + o
	}
	return fmt.Sprintf("~%s to a decision (median %s; 10–90%%: %s–%s), %s before maxDuration%s · %d runs from iteration %d",
		secs(e.Point), secs(e.Median), secs(e.P10), secs(e.P90), pct(e.Decided), split, e.Runs, e.Iteration)
}

// etaSplit is the least chance at which an outcome of an ETA is listed:
// a tenth of the forward runs, and at least etaSplitRuns of them. Below
// it the outcome rests on a run or two of the 20 to 100 an ETA makes
// (the demo's status line makes 30, where a tenth is three runs: an
// outcome's 95% interval is then 2–27%), and one at 90% or more is all
// but certain.
const (
	etaSplit     = 0.1
	etaSplitRuns = 5
)

// ETAOutcomes is "rollback 62% in ~1m, shop-v2 38% in ~12m": the
// outcomes the forward runs reached with at least etaSplit of them (and
// etaSplitRuns), most
// likely first, each with its runs' median remaining time; "" unless two
// or more are that likely. A bad canary's forecast is two in one (it is
// rolled back soon, or followed to the end as a good one would be), and
// the quantiles of all runs together hide which of them is likely.
func ETAOutcomes(e plan.ETA) string {
	likely := likeliest(e.Outcomes, func(o string, p float64) bool {
		_, ok := e.OutcomeMedians[o]
		return ok && p >= etaSplit && p*float64(e.Runs) >= etaSplitRuns-0.5
	})
	if len(likely) < 2 {
		return ""
	}
	parts := make([]string, len(likely))
	for i, o := range likely {
		parts[i] = outcomeIn(o, e.Outcomes[o], e.OutcomeMedians[o])
	}
	return strings.Join(parts, ", ")
}

// outcomes lists the outcomes seen, then those no run ended with (whose
// chance is not zero but below the upper end of their interval), then
// their 95% Monte Carlo intervals in the same order: "rollback 30%, v2
// 70%; inconclusive 0%  (95% MC: 21–40%, 60–79%; 0–4%)".
func outcomes(p plan.Plan) string {
	var seen, never, cis, nevers []string
	for _, o := range sortedKeys(p.Outcomes) {
		if p.Outcomes[o] > 0 {
			seen = append(seen, fmt.Sprintf("%s %s", o, pct(p.Outcomes[o])))
			cis = append(cis, pctRange(p.OutcomesCI[o]))
		} else {
			never = append(never, o)
			nevers = append(nevers, pctRange(p.OutcomesCI[o]))
		}
	}
	s, ci := strings.Join(seen, ", "), strings.Join(cis, ", ")
	if len(never) > 0 {
		// Every outcome never seen has the same interval.
		s += fmt.Sprintf("; %s 0%%", strings.Join(never, ", "))
		ci += "; " + nevers[0]
		if len(never) > 1 {
			ci += " each"
		}
	}
	return fmt.Sprintf("%s  (95%% MC: %s)", s, ci)
}

// outlook is a canary's plan with its candidate like the Service's past
// ones: "like its 4 past canaries: rollback 50% in ~1m, v2 50% in ~3m;
// the candidate serves 22% of requests  (100 runs each; 95% MC: 45–55%,
// 45–55%)", the likelier outcome first.
func outlook(o plan.Outlook) string {
	seen := likeliest(o.Outcomes, func(_ string, s float64) bool { return s > 0 })
	parts, cis := make([]string, len(seen)), make([]string, len(seen))
	for i, name := range seen {
		parts[i] = outcomeIn(name, o.Outcomes[name], o.Times[name])
		cis[i] = pctRange(o.OutcomesCI[name])
	}
	like := fmt.Sprintf("like its %d past canaries", o.Candidates)
	if o.Candidates == 1 {
		like = "like its past canary"
	}
	return fmt.Sprintf("%s: %s; the candidate serves %s of requests  (%d runs each; 95%% MC: %s)",
		like, strings.Join(parts, ", "), pct(o.Share), o.RunsEach, strings.Join(cis, ", "))
}

// likeliest are the outcomes of shares for which keep holds, the likeliest
// first, ties by name.
func likeliest(shares map[string]float64, keep func(outcome string, share float64) bool) []string {
	var out []string
	for o, p := range shares {
		if keep(o, p) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(shares[b], shares[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// outcomeIn is "rollback 62% in ~1m30s": an outcome, its share and the
// median time to it.
func outcomeIn(outcome string, share float64, median plan.Seconds) string {
	return fmt.Sprintf("%s %s in ~%s", outcome, pct(share), secs(median))
}

// pctRange is an interval of a proportion, its ends rounded outward so
// that rounding never narrows it: "69–100%".
func pctRange(ci [2]float64) string { return plan.PercentInterval(ci) }

// quantiles is "median 10m, p90 20m  (95% MC: median 8m–12m, p90
// 15m–40m)"; an end the runs could not bound is the horizon's.
func quantiles(q plan.Quantiles, f func(float64) string) string {
	return fmt.Sprintf("median %s, p90 %s%s  (95%% MC: median %s–%s, p90 %s–%s)", f(q.Median), f(q.P90), censored(q),
		f(q.MedianCI[0]), f(q.MedianCI[1]), f(q.P90CI[0]), f(q.P90CI[1]))
}

func censored(q plan.Quantiles) string {
	if q.Censored {
		return " or more (runs reached the horizon)"
	}
	return ""
}

func secs(s float64) string {
	return Duration(time.Duration(s * float64(time.Second)).Round(time.Second))
}

func pct(p float64) string {
	if p > 0 && p < 0.01 {
		return "<1%"
	}
	return fmt.Sprintf("%.0f%%", 100*p)
}

func upper(xs []string) []string {
	out := slices.Clone(xs)
	for i := range out {
		out[i] = strings.ToUpper(out[i])
	}
	return out
}
