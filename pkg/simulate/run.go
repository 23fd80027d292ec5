package simulate

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

// Interval is the length of one analysis interval in simulated time.
const Interval = time.Minute

// DefaultStart is when simulated experiments start unless Options.Start
// says otherwise: a fixed instant, since the simulator never reads the
// clock.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configure Run.
type Options struct {
	// Runs is the number of independent runs; at least 1.
	Runs int
	// Seed determines every run: run i draws from a stream derived from
	// (Seed, i).
	Seed uint64
	// Policy is one of Policies(); "" means iter8.
	Policy string
	// Workers run in parallel; 0 means GOMAXPROCS. The report does not
	// depend on it.
	Workers int
	// Start is the simulated start time; zero means DefaultStart.
	Start time.Time
	// Interval is the length of one analysis window in simulated time;
	// zero means Interval.
	Interval time.Duration
	// First is the index of the first run: runs First..First+Runs-1 are
	// simulated, so that a caller can extend a batch without repeating it.
	First int
	// From, when set, is a running experiment of the scenario's spec that
	// every run continues (iter8 policy only): its data, evidence and
	// split are the starting point, its start time and elapsed windows
	// count against the limits, and each run simulates only what remains.
	From *experiment.State
	// OnState, when set, is called with the engine's state after every
	// window of run i (iter8 policies only), from the worker running it.
	OnState func(run int, st experiment.State)
}

// RunResult is one run.
type RunResult struct {
	Outcome string
	// Intervals is the number of intervals until the decision, or the
	// horizon.
	Intervals int
	// Served is the requests each version served until then.
	Served []int64
	// Regret is the reward lost until then (Truth.Gap per request).
	Regret float64
	// HorizonRegret adds the expected loss of the split left in place
	// after the decision, held until the horizon.
	HorizonRegret float64
}

// Run simulates s Options.Runs times under one policy and reports.
func Run(s Scenario, o Options) (Report, error) {
	results, err := RunAll(s, o)
	if err != nil {
		return Report{}, err
	}
	if o.Policy == "" {
		o.Policy = PolicyIter8
	}
	return Summarize(s, o.Policy, o.Seed, results), nil
}

// RunAll simulates s Options.Runs times and returns the runs in order.
func RunAll(s Scenario, o Options) ([]RunResult, error) {
	if o.Runs < 1 {
		return nil, fmt.Errorf("simulate %s: runs must be >= 1, got %d", s.Name, o.Runs)
	}
	if o.Policy == "" {
		o.Policy = PolicyIter8
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.Interval <= 0 {
		o.Interval = Interval
	}
	if o.From != nil && o.Policy != PolicyIter8 && o.Policy != PolicyIter8Earn {
		return nil, fmt.Errorf("simulate %s: %w: only iter8 continues an engine state", s.Name, ErrNotApplicable)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, o.Runs)
	spec := s.Experiment.Defaulted()
	truth := TruthOf(s)
	// Fail fast, before spawning workers, on a policy that cannot run.
	if _, err := newPolicy(o.Policy, runEnv{scenario: s, spec: spec, truth: truth}); err != nil {
		return nil, fmt.Errorf("simulate %s: %w", s.Name, err)
	}
	results := make([]RunResult, o.Runs)
	errs := make([]error, o.Runs)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				results[i], errs[i] = runOne(s, spec, truth, o, o.First+i)
			}
		})
	}
	for i := range o.Runs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("simulate %s run %d: %w", s.Name, i, err)
		}
	}
	return results, nil
}

// runOne is run i: draw an interval under the policy's split, hand its
// window to the policy, until it decides, the spec's limits end it, or
// the horizon is reached.
func runOne(s Scenario, spec events.ExperimentSpec, truth Truth, o Options, i int) (RunResult, error) {
	seed := runSeed(o.Seed, i)
	env := runEnv{
		scenario: s, spec: spec, truth: truth,
		id:   fmt.Sprintf("sim-%d-%d", o.Seed, i),
		seed: seed, t0: o.Start, from: o.From,
	}
	if o.OnState != nil {
		env.onState = func(st experiment.State) { o.OnState(i, st) }
	}
	pol, err := newPolicy(o.Policy, env)
	if err != nil {
		return RunResult{}, err
	}
	split, err := pol.start()
	if err != nil {
		return RunResult{}, err
	}
	sm := newSampler(s, spec, seed)
	rpi := s.Traffic.RequestsPerInterval
	res := RunResult{Served: make([]int64, len(sm.versions)), Outcome: OutcomeInconclusive}
	// t0 is when the experiment started and first where its next window
	// starts; a continued experiment has already run some of its limits.
	t0, first, paused := o.Start, o.Start, time.Duration(0)
	var total int64
	if f := o.From; f != nil {
		t0, first, paused = f.Started.Time, f.Started.Time, f.PausedFor.Duration
		if f.WindowEnd.After(first) {
			first = f.WindowEnd.Time
		}
		for _, n := range experiment.VersionSamples(spec, f.Data) {
			total += int64(n)
		}
	}
	done := false
	for k := range s.Traffic.MaxIntervals {
		counts := sm.split(rpi, split)
		for v, c := range counts {
			res.Served[v] += c
			res.Regret += float64(c) * truth.Gap(v)
			total += c
		}
		start := first.Add(time.Duration(k) * o.Interval)
		end := start.Add(o.Interval)
		var outcome string
		split, outcome, done, err = pol.observe(sm.window(counts, start, end), end)
		if err != nil {
			return RunResult{}, fmt.Errorf("interval %d: %w", k+1, err)
		}
		res.Intervals = k + 1
		if done {
			res.Outcome = outcome
			break
		}
		// The spec's limits end every policy as they end the engine (which
		// has already applied them itself).
		if total >= spec.Limits.MaxSamples || end.Sub(t0)-paused >= spec.Limits.MaxDuration.Duration {
			split = env.failed(split)
			done = true
			break
		}
	}
	res.HorizonRegret = res.Regret
	if done {
		left := float64(int64(s.Traffic.MaxIntervals-res.Intervals) * rpi)
		for v, p := range split {
			res.HorizonRegret += left * float64(p) / 100 * truth.Gap(v)
		}
	}
	return res, nil
}
