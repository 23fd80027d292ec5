package plan

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// A canary's plan has two what-ifs: the expected case (the candidate is
// the baseline's equal) and the bad case (it is past a limit by the
// margin). Neither says what the next canary will likely do. A Service
// that has had canaries knows what its candidates have been like (the
// iter8.dev/past annotation, which the ETA already takes as its prior):
// the outlook runs the expected case once with the candidate like each
// past candidate in turn, every ratio metric the past candidate recorded
// at its rate under Jeffreys' prior, (s+½)/(n+1), the centre of the
// Beta the ETA's past prior draws from (canaryprior.go), and weighs the
// past candidates alike: what the next canary will do if it is like one
// of the last ones, each as likely. The fresh part of the ETA's prior
// (a candidate unlike any before) is the expected and bad cases' job.

// OutlookBudget is the cost units the outlook may spend, beyond
// CostBudget, shared by the past candidates: a canary's windows are cheap
// (one or two ratio metrics), so eight past candidates get a few dozen
// runs each within it.
const OutlookBudget = CostBudget / 4

// MinOutlookRuns is the runs of each past candidate at least, whatever
// the budget.
const MinOutlookRuns = 8

// Outlook is a canary's plan under the Service's past candidates.
type Outlook struct {
	// Candidates is how many past candidates it is made of: those that
	// recorded a ratio metric of the spec.
	Candidates int `json:"candidates"`
	// Outcomes is each outcome's share of the runs, every past candidate
	// weighing alike (each has the same runs), with its 95% interval;
	// Times is the median time to it over the runs that reached it.
	Outcomes   map[string]float64    `json:"outcomes"`
	OutcomesCI map[string][2]float64 `json:"outcomesCI"`
	Times      map[string]Seconds    `json:"outcomeMedianSeconds"`
	// Share is the candidate's share of all requests served, over runs.
	Share float64 `json:"candidateShare"`
	// Runs is the runs in all, RunsEach each past candidate's.
	Runs     int `json:"runs"`
	RunsEach int `json:"runsEach"`
}

// pastTruths is truth with the candidate's ratio metrics set as each past
// candidate recorded them, one truth a past candidate that recorded any
// metric of spec.
func pastTruths(spec events.ExperimentSpec, truth map[string]map[string]simulate.Dist, past []experiment.Past) ([]map[string]map[string]simulate.Dist, error) {
	cand := spec.Candidates[len(spec.Candidates)-1]
	var out []map[string]map[string]simulate.Dist
	for i, p := range past {
		t := maps.Clone(truth)
		t[cand] = maps.Clone(truth[cand])
		set := false
		for _, m := range spec.Metrics {
			c, ok := p.Ratios[m.Name]
			if !ok || experiment.KindOf(m.Type) != stats.Ratio {
				continue
			}
			d, err := scaled(truth[cand][m.Name], m, (c.Successes+0.5)/(c.Trials+1))
			if err != nil {
				return nil, fmt.Errorf("%w: past canary %d (%s): %w", ErrAssumptions, i, p.ID, err)
			}
			t[cand][m.Name], set = d, true
		}
		if set {
			out = append(out, t)
		}
	}
	return out, nil
}

// outlook runs the expected case under each past candidate (pastTruths),
// the same number of runs each: as many as the first one's share of
// OutlookBudget affords (sized), at least MinOutlookRuns. nil without a
// past candidate that recorded a metric of spec, or for other kinds.
func (p *Plan) outlook(spec events.ExperimentSpec, a Assumptions, g grid, run events.ExperimentSpec, truth map[string]map[string]simulate.Dist, o Options) (*Outlook, error) {
	if spec.Kind != events.KindCanary || len(a.Past) == 0 {
		return nil, nil
	}
	truths, err := pastTruths(spec, truth, a.Past)
	if err != nil || len(truths) == 0 {
		return nil, err
	}
	cand := slices.Index(spec.Versions(), spec.Candidates[len(spec.Candidates)-1])
	out := &Outlook{Candidates: len(truths), Outcomes: map[string]float64{}, OutcomesCI: map[string][2]float64{}, Times: map[string]Seconds{}}
	counts := map[string]int{}
	times := map[string][]float64{}
	served, all := 0.0, 0.0
	// Seeds past the bad cases' (Seed+1 onwards, one an objective).
	seed := o.Seed + uint64(len(spec.Objectives)) + 1
	b := budget{units: OutlookBudget / float64(len(truths)), windows: BadBudget,
		minRuns: MinOutlookRuns, pilotRuns: MinOutlookRuns, maxRuns: MaxBadRuns}
	for i, t := range truths {
		sc := g.scenario(fmt.Sprintf("plan-past-%d", i), run, t, spec)
		so := simulate.Options{Seed: seed + uint64(i), Workers: o.Workers, Interval: g.window, Runs: out.RunsEach}
		results, err := sized(sc, so, b, nil)
		if err != nil {
			return nil, fmt.Errorf("plan: past canary %d: %w", i, err)
		}
		if i == 0 {
			out.RunsEach = len(results)
		}
		p.units += float64(windowsOf(results)) * windowCost(sc)
		for _, r := range results {
			name, _ := scored(spec.Kind, g, r, o.Horizon > 0)
			counts[name]++
			times[name] = append(times[name], float64(r.Intervals)*g.window.Seconds())
			to, total := servedTo(r, cand)
			served, all = served+to, all+total
		}
	}
	out.Runs = out.RunsEach * len(truths)
	for name, k := range counts {
		out.Outcomes[name], out.OutcomesCI[name] = share(k, out.Runs)
		out.Times[name] = Seconds(quantile(sorted(times[name]), 0.5))
	}
	out.Share = served / math.Max(all, 1)
	return out, nil
}
