package plan

import (
	"fmt"
	"math"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// Thresholds of the advice.
const (
	// WantDecided is the chance of deciding before maxDuration below which
	// the plan warns and suggests.
	WantDecided = 0.8
	// WantCaught is the chance a bad candidate is caught in time below
	// which the plan warns.
	WantCaught = 0.9
)

// advise adds warnings and what would change them. The suggestions are
// first-order: samples to a decision do not depend on the rate, so the
// time scales with 1/traffic; they grow about as 1/effect².
func (p *Plan) advise(spec events.ExperimentSpec, a Assumptions, g grid) {
	for _, note := range spec.Decidability() {
		p.Warnings = append(p.Warnings, "undecidable quantile limit: "+note)
		p.Suggestions = append(p.Suggestions, "put the limit on a bucket edge: "+note)
	}
	for _, o := range spec.Objectives {
		m := metricOf(spec, o.Metric)
		upper, limit, relative := o.Limit()
		x := p.Assumed[spec.Baseline][o.Metric]
		if relative {
			continue
		}
		if (upper && x > limit) || (!upper && x < limit) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("the baseline's %s (%s) already breaks its limit %s", m.Name, num(x), num(limit)))
		}
	}
	for _, e := range p.Bad {
		if e.Caught < WantCaught {
			p.Warnings = append(p.Warnings, fmt.Sprintf("a %s with %s %s (limit %s) is caught before maxDuration in only %.0f%% of %d runs (95%% MC: %s)",
				e.Version, e.Metric, num(e.Value), num(e.Limit), 100*e.Caught, e.Runs, PercentInterval(e.CaughtCI)))
		}
	}
	if p.Decided >= WantDecided {
		return
	}
	maxD := time.Duration(p.MaxDuration * float64(time.Second))
	p.Warnings = append(p.Warnings, fmt.Sprintf("only %.0f%% of %d runs decide before maxDuration %s (95%% MC: %s)", 100*p.Decided, p.Runs, maxD, PercentInterval(p.DecidedCI)))
	t80 := math.NaN()
	if q := quantile(p.windows, WantDecided); q < float64(g.windows) {
		t80 = q * g.window.Seconds()
	}
	if math.IsNaN(t80) {
		p.Suggestions = append(p.Suggestions,
			fmt.Sprintf("even the simulated horizon (%s) is not enough at this traffic: raise the traffic, or the smallest effect worth detecting",
				time.Duration(g.windows)*g.window))
		return
	}
	f := t80 / p.MaxDuration
	need := time.Duration(t80 * float64(time.Second)).Round(time.Minute)
	p.Suggestions = append(p.Suggestions, fmt.Sprintf("a longer maxDuration: %s decides in %.0f%% of runs", need, 100*WantDecided))
	more := fmt.Sprintf("about %.1f× the traffic (%s requests/s instead of %s)", f, num(p.Rate*f), num(p.Rate))
	if spec.Kind == events.KindCanary {
		if c := *spec.Traffic.InitialCandidatePercent; c < 50 {
			more += fmt.Sprintf(", or a larger canary share: initialCandidatePercent %d is the candidate's start", c)
		}
	}
	p.Suggestions = append(p.Suggestions, more)
	if spec.Reward != nil {
		p.Suggestions = append(p.Suggestions, fmt.Sprintf("a larger smallest effect worth detecting: about %.0f%% instead of %.0f%%",
			100*a.Effect*math.Sqrt(f), 100*a.Effect))
	}
}

func num(x float64) string { return fmt.Sprintf("%.4g", x) }
