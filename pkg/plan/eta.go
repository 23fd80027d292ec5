package plan

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Forward runs of an ETA: ETAPilot first, then as many more as fit
// ETABudget engine windows in all, up to ETARuns (or ETAOptions.Runs).
const (
	ETARuns   = 100
	ETAPilot  = 20
	ETABudget = 3000
	// ETAMaxWindows caps a forward run's windows, as MaxWindows does a
	// plan's, but finer: an ETA is read in minutes, and a folded window
	// decides only at its end (1440 keeps one-minute windows for the
	// default maxDuration of 24 hours). The budget keeps a slow
	// experiment's ETA cheap: fewer, longer runs.
	ETAMaxWindows = 1440
)

// ETALevel is the quantile of the forward runs' remaining time shown as
// the ETA: their lower 40%, not their median. An ETA is judged after the
// fact against how long the run took, at moments along it (issue #19: at
// 25%, 50% and 75% of its duration), and a moment picked by the run's end
// looks into its future: the runs that end early, more than half when
// durations vary, were lucky after the moment, which no state can show,
// so the median of the remaining time is long there, by 1.45 times at a
// coefficient of variation of 0.6 (our scenarios') and 1.9 at 1. In the
// first-passage model (passage.go, docs/planning.md "Which point is
// shown") the lower 40% keeps the median ratio within 0.85–1.25 at all
// three moments for CVs from 0.2 to 0.7, and is centred at 0.6; the
// median is still reported (Median), and the 10–90% spread is unchanged.
const ETALevel = 0.4

// ErrNoETA is wrapped when the state cannot be continued yet: not
// Running, or no window folded in.
var ErrNoETA = errors.New("no ETA")

// ETA is the expected remaining time to a decision of a running
// experiment, from the evidence so far.
type ETA struct {
	// Iteration is the state's: the ETA is recomputed every window.
	Iteration int `json:"iteration"`
	Runs      int `json:"runs"`
	// Point is the ETA shown: the ETALevel quantile of the time until the
	// decision or the limit over runs, in seconds. P10, Median and P90
	// are its 10th, 50th and 90th percentiles.
	Point  Seconds `json:"etaSeconds"`
	P10    Seconds `json:"p10Seconds"`
	Median Seconds `json:"medianSeconds"`
	P90    Seconds `json:"p90Seconds"`
	// Windows is Point in remaining windows.
	Windows float64 `json:"windows"`
	// Decided is P(a decision before maxDuration), the rest ending at the
	// limit.
	Decided  float64            `json:"decidedInTime"`
	Outcomes map[string]float64 `json:"outcomes"`
	// OutcomeMedians are the median remaining time, in seconds, of the
	// runs that ended with each outcome of Outcomes. A canary's forecast
	// is often two in one: a candidate still judged may be rolled back
	// within a window or two, or ramped to the end, and the quantiles of
	// the runs together cannot say which is likely.
	OutcomeMedians map[string]Seconds `json:"outcomeMedianSeconds,omitempty"`
	// Scale is the survival correction's λ: the factor the observed
	// differences of the reward from the baseline were scaled by (1: none).
	Scale float64 `json:"scale,omitempty"`
	// Window and Rate are what the ETA assumed, read from the state: the
	// mean window length and requests a second so far.
	Window Seconds `json:"windowSeconds"`
	Rate   float64 `json:"rate"`
	// Forward are the runs' remaining windows, sorted: the whole
	// predictive distribution, which the benchmark's calibration reads
	// (ETAPoint.add). Not shown.
	Forward []float64 `json:"-"`
}

// ETAOptions configure Estimate.
type ETAOptions struct {
	// Runs is the most forward runs; 0 means ETARuns.
	Runs int
	// Budget is the engine windows the runs may simulate in all; 0 means
	// ETABudget.
	Budget int
	// Seed; 0 derives it from the experiment's id and iteration, so the
	// same state always shows the same ETA.
	Seed uint64
	// Horizon, when > 0, caps the remaining windows instead of
	// maxDuration (a scenario's horizon).
	Horizon int
	Workers int
	// Point takes the (corrected) point estimates in every run instead of
	// drawing each run's truth from the posterior around them: a narrower
	// spread that leaves out what the data do not yet know. For
	// benchmarks.
	Point bool
	// Truth, when set, replaces what the data imply: an oracle that knows
	// every version's distributions, for benchmarks only.
	Truth map[string]map[string]simulate.Dist
	// Truths, when set, are the only truths the data can come from, a
	// priori equally likely: each forward run continues under one of
	// them, drawn by its likelihood of the state's data (truths.go). The
	// bound on what a prior that knew them could do; they may differ on
	// ratio metrics only. For benchmarks only.
	Truths []map[string]map[string]simulate.Dist
	// Raw leaves out the survival correction (survival.go): the estimates
	// as the data give them. For benchmarks.
	Raw bool
	// Baseline is the baseline's data before the start, by metric name
	// (what Prometheus recorded): a canary's prior borrows the baseline's
	// rate, which the experiment's first windows measure poorly. Only
	// that prior uses it (canaryprior.go), never the engine's evidence;
	// nil: the experiment's data alone.
	Baseline map[string]stats.Data
	// Past are the candidates of the Service's past canaries (its
	// iter8.dev/past annotation): a canary's candidate is a priori like
	// one of them or new (canaryprior.go). Only that prior uses them; nil:
	// the default prior alone.
	Past []experiment.Past
}

// prior is what a canary's prior knows beyond the state: the baseline's
// data before the start and the Service's past candidates.
type prior struct {
	before map[string]stats.Data
	past   []experiment.Past
}

func (o ETAOptions) prior() prior { return prior{before: o.Baseline, past: o.Past} }

// Estimate simulates st forward: each run draws every version's metric
// distributions from the posterior its data imply (a version without data
// takes the baseline's), moved by the survival correction (survival.go),
// and continues the real engine from st at the rate and window length
// seen so far, until it decides or reaches maxDuration.
func Estimate(spec events.ExperimentSpec, st experiment.State, o ETAOptions) (ETA, error) {
	spec = spec.Defaulted()
	if st.Phase != experiment.PhaseRunning || st.Iteration < 1 {
		return ETA{}, fmt.Errorf("experiment %s: %w: %s at iteration %d", st.ID, ErrNoETA, st.Phase, st.Iteration)
	}
	ran := st.WindowEnd.Sub(st.Started.Time) - st.PausedFor.Duration
	window := ran / time.Duration(st.Iteration)
	total := 0.0
	for _, n := range experiment.VersionSamples(spec, st.Data) {
		total += n
	}
	if window <= 0 || !(total > 0) {
		return ETA{}, fmt.Errorf("experiment %s: %w: no data yet", st.ID, ErrNoETA)
	}
	left := int(math.Ceil(float64(spec.Limits.MaxDuration.Duration-ran) / float64(window)))
	if o.Horizon > 0 {
		left = o.Horizon
	}
	left = max(left, 1)
	f := max(1, (left+ETAMaxWindows-1)/ETAMaxWindows)
	step := window * time.Duration(f)
	rpi := max(1, int64(math.Round(total/float64(st.Iteration)*float64(f))))
	if o.Runs <= 0 {
		o.Runs = ETARuns
	}
	if o.Seed == 0 {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%d", st.ID, st.Iteration)
		o.Seed = h.Sum64()
	}
	if o.Budget <= 0 {
		o.Budget = ETABudget
	}
	horizon := (left + f - 1) / f
	scale := 1.0
	// point is fitted once: the survival correction starts from it, and
	// every drawn run is moved by what the correction moved it.
	point := fitted(spec, st, o.prior(), nil)
	var center map[string]map[string]simulate.Dist
	perWindow := max(1, int64(math.Round(total/float64(st.Iteration))))
	var weights []float64
	if len(o.Truths) > 0 {
		var err error
		if weights, err = truthWeights(spec, st, o.Truths); err != nil {
			return ETA{}, fmt.Errorf("experiment %s: eta: %w", st.ID, err)
		}
		o.Point = true
	}
	if o.Truth == nil && weights == nil && !o.Raw {
		var err error
		center, scale, err = survivalScale(spec, st, point, window, perWindow, o.Seed, o.Workers)
		if err != nil {
			return ETA{}, fmt.Errorf("experiment %s: eta: %w", st.ID, err)
		}
		if o.Point {
			o.Truth = center
		}
	}
	var sel *selection
	if o.Truth == nil && weights == nil && !o.Raw {
		// The canary's and performance test's counterpart of the survival
		// correction (selection.go).
		var err error
		sel, err = newSelection(spec, st, o.prior(), point, window, perWindow, o.Seed, o.Workers)
		if err != nil {
			return ETA{}, fmt.Errorf("experiment %s: eta: %w", st.ID, err)
		}
	}
	run := func(i int) (simulate.RunResult, error) {
		o := o
		if weights != nil {
			o.Truth = o.Truths[pickTruth(weights, o.Seed, i)]
		}
		return forward(spec, st, o, center, point, sel, i, rpi, horizon, f, step)
	}
	results, err := parallel(0, min(ETAPilot, o.Runs), o.Workers, run)
	if err == nil {
		steps := 0
		for _, r := range results {
			steps += max(r.Intervals, 1)
		}
		if n := min(o.Runs, o.Budget*len(results)/steps); n > len(results) {
			var more []simulate.RunResult
			more, err = parallel(len(results), n, o.Workers, run)
			results = append(results, more...)
		}
	}
	if err != nil {
		return ETA{}, fmt.Errorf("experiment %s: eta: %w", st.ID, err)
	}
	o.Runs = len(results)
	e := ETA{Iteration: st.Iteration, Runs: o.Runs, Scale: scale, Window: window.Seconds(), Rate: total / ran.Seconds(), Outcomes: map[string]float64{}}
	var secs, windows []float64
	byOutcome := map[string][]float64{}
	decided := 0
	for _, r := range results {
		t := float64(r.Intervals) * step.Seconds()
		secs = append(secs, t)
		windows = append(windows, float64(r.Intervals*f))
		out := r.Outcome
		if out == simulate.OutcomeInconclusive {
			out = limitOutcome(spec.Kind)
		} else {
			decided++
		}
		e.Outcomes[out] += 1 / float64(o.Runs)
		byOutcome[out] = append(byOutcome[out], t)
	}
	e.OutcomeMedians = map[string]Seconds{}
	for out, ts := range byOutcome {
		e.OutcomeMedians[out] = quantile(sorted(ts), 0.5)
	}
	sorted(secs)
	e.Point, e.P10, e.Median, e.P90 = quantile(secs, ETALevel), quantile(secs, 0.1), quantile(secs, 0.5), quantile(secs, 0.9)
	e.Windows = quantile(sorted(windows), ETALevel)
	e.Forward = windows
	e.Decided = float64(decided) / float64(o.Runs)
	return e, nil
}

// parallel runs run(i) for i in [from, to) on workers goroutines and
// returns the results in order.
func parallel(from, to, workers int, run func(int) (simulate.RunResult, error)) ([]simulate.RunResult, error) {
	results := make([]simulate.RunResult, to-from)
	errs := make([]error, to-from)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, to-from) {
		wg.Go(func() {
			for i := range next {
				results[i-from], errs[i-from] = run(i)
			}
		})
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return results, errors.Join(errs...)
}

// forward is run i: a truth drawn from the posterior, then one continued
// run of the engine.
func forward(spec events.ExperimentSpec, st experiment.State, o ETAOptions, center, point map[string]map[string]simulate.Dist, sel *selection, i int, rpi int64, windows, f int, step time.Duration) (simulate.RunResult, error) {
	seed := o.Seed
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	if o.Point {
		rng = nil
	}
	truth := o.Truth
	switch {
	case truth == nil && sel != nil:
		truth = sel.draw(spec, st, rng)
	case truth == nil:
		truth = around(spec, center, point, fitted(spec, st, o.prior(), rng))
	}
	sc := simulate.Scenario{
		Name: "eta", Experiment: folded(spec, f), Truth: truth, Expect: simulate.PossibleOutcomes(spec),
		Traffic: simulate.Traffic{RequestsPerInterval: rpi, MaxIntervals: windows},
	}
	r, err := simulate.RunAll(sc, simulate.Options{Runs: 1, First: i, Seed: seed, Workers: 1, Interval: step, From: &st})
	if err != nil {
		return simulate.RunResult{}, err
	}
	return r[0], nil
}

// fitted is what st's data imply: every version's metrics at their
// point estimates (or drawn from the posterior when rng is set), a version
// without data on a metric taking the baseline's.
func fitted(spec events.ExperimentSpec, st experiment.State, pr prior, rng *rand.Rand) map[string]map[string]simulate.Dist {
	truth := map[string]map[string]simulate.Dist{}
	for v, name := range st.Versions {
		truth[name] = map[string]simulate.Dist{}
		for j, m := range spec.Metrics {
			d, ok := posterior(m, st.Data[v][j], DefaultCV, rng)
			if !ok {
				d, ok = posterior(m, st.Data[0][j], DefaultCV, rng)
			}
			if !ok {
				d = placeholder(m)
			}
			truth[name][m.Name] = d
		}
	}
	if spec.Kind == events.KindCanary && rng != nil && len(st.Versions) > 1 {
		// The candidate's rates under the prior that it is like the
		// baseline (canaryprior.go).
		for j, m := range spec.Metrics {
			c, b := st.Data[1][j], st.Data[0][j]
			if experiment.KindOf(m.Type) == stats.Ratio && c.Trials > 0 && b.Trials > 0 {
				h := pr.before[m.Name]
				pb, pc := newCanaryRates(c.Successes, c.Trials, b.Successes+h.Successes, b.Trials+h.Trials, pastCounts(pr.past, m.Name)).draw(rng)
				truth[st.Versions[0]][m.Name], truth[st.Versions[1]][m.Name] = bernoulli(pb), bernoulli(pc)
			}
		}
	}
	return truth
}

// around moves a posterior draw by what the survival correction moved the
// point estimates: drawn + (center − point), metric by metric, so that the
// draws spread around the corrected values. Without a center, the draw.
func around(spec events.ExperimentSpec, center, point, drawn map[string]map[string]simulate.Dist) map[string]map[string]simulate.Dist {
	if center == nil {
		return drawn
	}
	for v, ms := range drawn {
		for _, m := range spec.Metrics {
			shift := center[v][m.Name].Value(m) - point[v][m.Name].Value(m)
			if shift == 0 {
				continue
			}
			if d, err := scaled(ms[m.Name], m, ms[m.Name].Value(m)+shift); err == nil {
				ms[m.Name] = d
			}
		}
	}
	return drawn
}

// placeholder stands for a metric no version has data on yet: it cannot
// move a decision the data do not already support.
func placeholder(m events.MetricSpec) simulate.Dist {
	if experiment.KindOf(m.Type) == stats.Ratio {
		return bernoulli(0)
	}
	return assumed(m, 1, DefaultCV)
}
