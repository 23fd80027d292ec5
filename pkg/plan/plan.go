package plan

import (
	"fmt"
	"math"
	"slices"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// Run counts and caps. Each case is sized by cost (budget.go): at most its
// share of CostBudget cost units and at most its engine windows below, so
// that a plan takes at most about 6 s of CPU, 3 s on two idle cores,
// unless its floors cost more (docs/planning.md measures both).
const (
	// PilotRuns is the first batch, which sizes the rest, when it fits
	// the budget; it is also the most runs a coarse pilot (zoom) takes.
	PilotRuns = 30
	// MinRuns is the fewest runs of the expected case, and of a coarse
	// pilot: enough for a 95% interval of the median between order
	// statistics 2 and 8.
	MinRuns = 10
	// MaxRuns bounds the expected case.
	MaxRuns = 400
	// StepBudget is how many engine windows the expected case may
	// simulate in all: runs = StepBudget / the pilot's mean windows a
	// run, within [MinRuns, MaxRuns], unless its cost share runs out first.
	StepBudget = 3000
	// BadBudget is the windows each bad-candidate case may simulate, sized
	// as the expected case is (a pilot of BadPilotRuns when it fits),
	// within [MinBadRuns, MaxBadRuns], unless its share of what the
	// expected case left of CostBudget runs out first.
	BadBudget    = 800
	BadPilotRuns = 20
	MinBadRuns   = 5
	MaxBadRuns   = 100
	// MaxWindows caps the windows of one run: a longer horizon is
	// simulated in coarser windows (several real windows folded into one),
	// which the anytime-valid rules allow at a small cost in resolution;
	// the traffic moves as far in a folded window as in the real windows
	// it stands for (folded).
	MaxWindows = 240
	// Extend is how far past maxDuration the expected case runs, so that
	// the plan can say how much longer a slow experiment would need.
	Extend = 2
)

// Options configure Make.
type Options struct {
	// Seed determines every run.
	Seed uint64
	// Workers run in parallel; 0 means GOMAXPROCS. The plan does not
	// depend on it.
	Workers int
	// Horizon, when > 0, is the number of windows each run lasts at most,
	// instead of Extend·maxDuration: a scenario's own horizon.
	Horizon int
	// Runs, when > 0, fixes the expected case's runs instead of sizing them
	// from the pilot.
	Runs int
}

// Plan is what an experiment will likely take.
type Plan struct {
	Kind     string   `json:"kind"`
	Versions []string `json:"versions"`
	// Rate is requests per second, Window the simulated window (coarser
	// than the real one when Coarsened).
	Rate        float64 `json:"rate"`
	Window      Seconds `json:"windowSeconds"`
	Coarsened   int     `json:"coarsened,omitempty"`
	MaxDuration Seconds `json:"maxDurationSeconds"`
	Runs        int     `json:"runs"`
	// PilotRuns is the runs of the coarse pilot that chose a finer grid
	// (zoom), beside Runs; 0 when the plan stayed on the pilot's grid and
	// its runs are Runs' first.
	PilotRuns int    `json:"pilotRuns,omitempty"`
	Seed      uint64 `json:"seed"`
	// Assumed is every version's simulated value of every metric.
	Assumed map[string]map[string]float64 `json:"assumed"`
	// Samples and Time are requests and wall-clock time until the
	// decision, the limit or the horizon, over runs.
	Samples Quantiles `json:"samples"`
	Time    Quantiles `json:"timeSeconds"`
	// Decided is P(a decision before maxDuration), with its Monte Carlo
	// standard error (Wald's, kept for compatibility: it reads 0 when
	// every run or none decided) and its 95% interval (binomialCI), which
	// is what the table shows.
	Decided   float64    `json:"decidedInTime"`
	DecidedSE float64    `json:"decidedInTimeSE"`
	DecidedCI [2]float64 `json:"decidedInTimeCI"`
	// Outcomes is each outcome's chance under the real limits, OutcomesCI
	// its 95% interval (binomialCI).
	Outcomes   map[string]float64    `json:"outcomes"`
	OutcomesCI map[string][2]float64 `json:"outcomesCI"`
	// Bad is the exposure of a candidate as bad as the SLO margin, one
	// case per objective.
	Bad []Exposure `json:"badCandidate,omitempty"`
	// Outlook is a canary's plan with the candidate like the Service's
	// past ones (Assumptions.Past); nil without them.
	Outlook     *Outlook `json:"outlook,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	Suggestions []string `json:"suggestions,omitempty"`
	// Report is the expected case's simulator report (accuracy checks
	// compare it with a scenario's).
	Report simulate.Report `json:"-"`
	// windows is the windows each run took, samples the requests, sorted.
	windows, samples []float64
	// units is the cost units the plan simulated in all (budget.go).
	units float64
}

// Seconds is a duration in seconds, as JSON numbers are.
type Seconds = float64

// Quantiles is the median and 90th percentile over runs, with their 95%
// Monte Carlo intervals (orderCI: an end the runs cannot bound is one
// window's or the horizon's); Censored when more than a tenth of runs reached
// the horizon, so that the p90 is only a lower bound.
type Quantiles struct {
	Median   float64    `json:"median"`
	P90      float64    `json:"p90"`
	MedianCI [2]float64 `json:"medianCI"`
	P90CI    [2]float64 `json:"p90CI"`
	Censored bool       `json:"censored,omitempty"`
}

// Exposure is one bad-candidate case.
type Exposure struct {
	Version string  `json:"version"`
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	Limit   float64 `json:"limit"`
	// Requests is the mean number of requests the bad version served, and
	// Share its share of all requests served, over runs, with their 95%
	// intervals (Student t, approximate: meanCI, ratioCI).
	Requests   float64    `json:"requests"`
	RequestsCI [2]float64 `json:"requestsCI"`
	Share      float64    `json:"share"`
	ShareCI    [2]float64 `json:"shareCI"`
	// Caught is P(it is rolled back, excluded or failed before
	// maxDuration), CaughtCI its 95% interval (binomialCI); Time is the
	// median time until the run ended, TimeCI its 95% interval.
	Caught   float64    `json:"caught"`
	CaughtCI [2]float64 `json:"caughtCI"`
	Time     Seconds    `json:"medianTimeSeconds"`
	TimeCI   [2]float64 `json:"medianTimeCI"`
	Runs     int        `json:"runs"`
}

// Make plans spec under a and o.
func Make(spec events.ExperimentSpec, a Assumptions, o Options) (Plan, error) {
	spec = spec.Defaulted()
	if err := spec.Validate(); err != nil {
		return Plan{}, fmt.Errorf("plan: %w", err)
	}
	a = a.defaulted()
	if err := a.validate(spec); err != nil {
		return Plan{}, fmt.Errorf("plan: %w", err)
	}
	truth, err := a.truth(spec)
	if err != nil {
		return Plan{}, fmt.Errorf("plan: %w", err)
	}
	maxD := spec.Limits.MaxDuration.Duration
	g := gridOf(a, maxD, o.Horizon)
	so := simulate.Options{Seed: o.Seed, Workers: o.Workers, Runs: o.Runs}
	// head is expected-case runs already simulated: a coarse pilot's,
	// when the plan stays on its grid. spent is the cost units so far.
	var head []simulate.RunResult
	pilot, spent := 0, 0.0
	if o.Horizon <= 0 && g.factor > 1 {
		// A coarse grid loses the time scale of a quick experiment: a
		// coarse pilot finds it, and the plan runs on a grid fine enough
		// for it, over a horizon of Zoom× the pilot's p90 (never less
		// than maxDuration when that fits in MaxWindows real windows).
		sc := g.scenario("plan", runSpec(spec, g, 0), truth, spec)
		g2, rs, ok, err := zoom(sc, a, maxD, g, so)
		if err != nil {
			return Plan{}, err
		}
		if ok {
			g, pilot = g2, len(rs)
			spent = float64(windowsOf(rs)) * windowCost(sc)
		} else {
			head = rs
		}
	}
	run := runSpec(spec, g, o.Horizon)
	p := Plan{
		Kind: spec.Kind, Versions: spec.Versions(), Rate: a.Rate, Window: g.window.Seconds(),
		MaxDuration: maxD.Seconds(), Seed: o.Seed, PilotRuns: pilot, Assumed: map[string]map[string]float64{},
	}
	if g.factor > 1 {
		p.Coarsened = g.factor
	}
	for _, v := range p.Versions {
		p.Assumed[v] = map[string]float64{}
		for _, m := range spec.Metrics {
			p.Assumed[v][m.Name] = truth[v][m.Name].Value(m)
		}
	}
	sc := g.scenario("plan", run, truth, spec)
	so.Interval = g.window
	// The expected case leaves the bad cases at least their floors' runs
	// (at its own mean cost a run).
	results, err := sized(sc, so, budget{units: ExpectedShare * CostBudget, left: CostBudget - spent,
		windows: StepBudget, reserve: len(spec.Objectives) * MinBadRuns,
		minRuns: MinRuns, pilotRuns: PilotRuns, maxRuns: MaxRuns}, head)
	if err != nil {
		return Plan{}, fmt.Errorf("plan: %w", err)
	}
	spent += float64(windowsOf(results)) * windowCost(sc)
	p.Runs = len(results)
	p.units = spent
	p.Report = simulate.Summarize(sc, simulate.PolicyIter8, o.Seed, results)
	p.summarize(spec, g, results, o.Horizon > 0)
	if err := p.badCases(spec, a, g, run, truth, o, CostBudget-spent); err != nil {
		return Plan{}, err
	}
	if p.Outlook, err = p.outlook(spec, a, g, run, truth, o); err != nil {
		return Plan{}, err
	}
	p.advise(spec, a, g)
	return p, nil
}

// limitOutcome is how the engine ends an experiment at maxDuration.
func limitOutcome(kind string) string {
	switch kind {
	case events.KindCanary:
		return simulate.OutcomeRollback
	case events.KindPerformance:
		return simulate.OutcomeFail
	}
	return simulate.OutcomeInconclusive
}

// scored is a run's outcome under the real maxDuration: a decision after
// it would have been the limit's outcome. With a scenario's horizon the
// outcome stands as simulated.
func scored(kind string, g grid, r simulate.RunResult, asIs bool) (string, bool) {
	if asIs {
		return r.Outcome, r.Outcome != simulate.OutcomeInconclusive
	}
	if r.Outcome == simulate.OutcomeInconclusive || r.Intervals > g.limit {
		return limitOutcome(kind), false
	}
	return r.Outcome, true
}

func (p *Plan) summarize(spec events.ExperimentSpec, g grid, results []simulate.RunResult, asIs bool) {
	var samples, times []float64
	decided, censored := 0, 0
	outcomes := map[string]int{}
	for _, o := range simulate.PossibleOutcomes(spec) {
		outcomes[o] = 0
	}
	for _, r := range results {
		n := 0.0
		for _, c := range r.Served {
			n += float64(c)
		}
		samples = append(samples, n)
		times = append(times, float64(r.Intervals)*g.window.Seconds())
		p.windows = append(p.windows, float64(r.Intervals))
		out, ok := scored(spec.Kind, g, r, asIs)
		outcomes[out]++
		if ok {
			decided++
		}
		if r.Outcome == simulate.OutcomeInconclusive && r.Intervals >= g.windows {
			censored++
		}
	}
	cens := censored*10 > len(results)
	// A run serves and lasts at least one window and at most the horizon:
	// the ends of an interval the runs cannot close (orderCI).
	p.Samples = quantilesOf(sorted(samples), cens, float64(g.rpi), float64(g.windows)*float64(g.rpi))
	p.samples = samples
	p.Time = quantilesOf(sorted(times), cens, g.window.Seconds(), float64(g.windows)*g.window.Seconds())
	sorted(p.windows)
	p.Outcomes, p.OutcomesCI = map[string]float64{}, map[string][2]float64{}
	for o, k := range outcomes {
		p.Outcomes[o], p.OutcomesCI[o] = share(k, len(results))
	}
	p.Decided, p.DecidedCI = share(decided, len(results))
	p.DecidedSE = math.Sqrt(p.Decided * (1 - p.Decided) / float64(len(results)))
}

func quantilesOf(xs []float64, censored bool, floor, top float64) Quantiles {
	return Quantiles{
		Median: quantile(xs, 0.5), P90: quantile(xs, 0.9),
		MedianCI: orderCI(xs, 0.5, floor, top), P90CI: orderCI(xs, 0.9, floor, top), Censored: censored,
	}
}

// badCases simulates, per objective, the expected case with one version
// past that objective's limit by the margin: the last candidate (for
// canary the candidate; for performance the baseline itself). The cases
// share left cost units: each may spend what the cases before it left,
// over the cases still to run.
func (p *Plan) badCases(spec events.ExperimentSpec, a Assumptions, g grid, run events.ExperimentSpec, truth map[string]map[string]simulate.Dist, o Options, left float64) error {
	versions := spec.Versions()
	bad := versions[len(versions)-1]
	for k, obj := range spec.Objectives {
		t, v, limit, err := a.badCase(spec, truth, bad, k)
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		sc := g.scenario("plan-bad-"+obj.Metric, run, t, spec)
		b := budget{units: left / float64(len(spec.Objectives)-k), windows: BadBudget,
			minRuns: MinBadRuns, pilotRuns: BadPilotRuns, maxRuns: MaxBadRuns}
		results, err := sized(sc, simulate.Options{Seed: o.Seed + uint64(k) + 1, Workers: o.Workers, Interval: g.window}, b, nil)
		if err != nil {
			return fmt.Errorf("plan: bad %s: %w", obj.Metric, err)
		}
		u := float64(windowsOf(results)) * windowCost(sc)
		left -= u
		p.units += u
		i := slices.Index(versions, bad)
		e := Exposure{Version: bad, Metric: obj.Metric, Value: v, Limit: limit, Runs: len(results)}
		var all float64
		var times, served, totals []float64
		caught := 0
		for _, r := range results {
			to, total := servedTo(r, i)
			all += total
			e.Requests += to
			served, totals = append(served, to), append(totals, total)
			times = append(times, float64(r.Intervals)*g.window.Seconds())
			if out, ok := scored(spec.Kind, g, r, o.Horizon > 0); ok && out != bad && out != simulate.OutcomePass {
				caught++
			}
		}
		e.Share = e.Requests / math.Max(all, 1)
		e.Requests /= float64(len(results))
		e.RequestsCI, e.ShareCI = meanCI(served), ratioCI(served, totals)
		e.Caught, e.CaughtCI = share(caught, len(results))
		e.Time, e.TimeCI = quantile(sorted(times), 0.5), orderCI(times, 0.5, g.window.Seconds(), float64(g.windows)*g.window.Seconds())
		p.Bad = append(p.Bad, e)
	}
	return nil
}

// servedTo is the requests run r served to version i (by its index in
// the spec's versions), and in all.
func servedTo(r simulate.RunResult, i int) (to, total float64) {
	for j, c := range r.Served {
		total += float64(c)
		if j == i {
			to = float64(c)
		}
	}
	return to, total
}
