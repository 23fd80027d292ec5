package experiment

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Errors callers map to replies. Every error the engine returns wraps one
// of them, so errors.Is tells a retry from a refusal: none of them is
// worth retrying, since the engine is deterministic.
var (
	// ErrInvalidSpec: the spec fails events.ExperimentSpec.Validate; the
	// wrapped events.FieldErrors say where.
	ErrInvalidSpec = errors.New("invalid experiment spec")
	// ErrNotRunning: the experiment is Completed, Failed or Pending.
	ErrNotRunning = errors.New("experiment not running")
	// ErrInvalidObservation: a MetricsObserved names an unknown version
	// or metric, or carries statistics of the wrong kind or impossible
	// values; the wrapped events.FieldErrors say where.
	ErrInvalidObservation = errors.New("invalid observation")
	// ErrInvalidControl: an unknown action, or promote of an unknown
	// version.
	ErrInvalidControl = errors.New("invalid control")
	// ErrStateMismatch: the state belongs to another spec or schema.
	ErrStateMismatch = errors.New("state does not match spec")
	// ErrAssess: the assessor failed.
	ErrAssess = errors.New("assessment failed")
)

// Assessor computes an assessment; stats.Assess is the real one. Tests
// script verdicts with their own.
type Assessor func(p stats.Problem, data [][]stats.Data, excluded []bool) (stats.Assessment, error)

// Engine runs experiments: every operation takes the spec and the state
// and returns the next state with the traffic split that goes with it, as
// Knative's traffic.Rollout.Step does, so that no caller does traffic
// arithmetic of its own. The zero value is ready to use and assesses with
// stats.Assess; New configures one.
type Engine struct {
	assess Assessor
	draws  int
}

// Option configures an Engine.
type Option func(*Engine)

// WithAssessor replaces stats.Assess; tests script verdicts with it.
func WithAssessor(a Assessor) Option { return func(e *Engine) { e.assess = a } }

// WithDraws sets stats.Problem.Draws, the Monte Carlo draws per
// assessment; 0 is the statistics engine's default.
func WithDraws(n int) Option { return func(e *Engine) { e.draws = n } }

// New returns an Engine with opts applied.
func New(opts ...Option) Engine {
	var e Engine
	for _, o := range opts {
		o(&e)
	}
	return e
}

// Result is what a call asks the caller to do.
type Result struct {
	// Traffic is the split to write to the Service, nil to leave its
	// traffic as it is. It always agrees with the returned State.Traffic:
	// it holds every version, or, after Fail with versions Gone, only those
	// that remain (the Service cannot route to a missing revision).
	Traffic map[string]int
	// Emit lists the events to send, in order.
	Emit []Outbound
	// Assessment is the assessment made by Observe; nil elsewhere.
	Assessment *stats.Assessment
	// Changed reports whether the returned State differs from the one
	// passed in; when false the caller need not write it back.
	Changed bool
}

// Outbound is one event to emit. Data is one of events.Started,
// events.Assessed, events.TrafficChanged, events.Completed or
// events.Failed, with Service empty: the engine does not know the Service;
// WithService fills it in.
type Outbound struct {
	Type string
	Data any
}

// WithService returns r with every emitted event's Service set.
func (r Result) WithService(service string) Result {
	emit := make([]Outbound, len(r.Emit))
	for i, o := range r.Emit {
		switch d := o.Data.(type) {
		case events.Started:
			d.Service = service
			o.Data = d
		case events.Assessed:
			d.Service = service
			o.Data = d
		case events.TrafficChanged:
			d.Service = service
			o.Data = d
		case events.Completed:
			d.Service = service
			o.Data = d
		case events.Failed:
			d.Service = service
			o.Data = d
		}
		emit[i] = o
	}
	r.Emit = emit
	return r
}

// Start begins an experiment with the Defaulted spec. The first split is:
//
//   - canary: initialCandidatePercent to the candidate, the rest to the
//     baseline;
//   - ab, abn: initialCandidatePercent shared equally among the
//     candidates when set, else an equal split over all versions
//     (remainders to the earlier versions, baseline first);
//   - performance: none; Result.Traffic is nil and the Service's traffic
//     is left as it is, while State.Traffic and the events report the
//     nominal split, all to the one version.
//
// Start emits events.Started with the Defaulted spec.
func (e Engine) Start(spec events.ExperimentSpec, id string, now time.Time) (State, Result, error) {
	spec = spec.Defaulted()
	if err := spec.Validate(); err != nil {
		return State{}, Result{}, fmt.Errorf("start experiment %q: %w: %w", id, ErrInvalidSpec, err)
	}
	if id == "" {
		return State{}, Result{}, fmt.Errorf("start experiment: %w: an experiment id is required", ErrInvalidSpec)
	}
	now = instant(now)
	versions := spec.Versions()
	w := initialSplit(spec)
	st := State{
		Schema: SchemaVersion, ID: id, Phase: PhaseRunning, Reason: "started",
		Started: events.Time{Time: now}, Updated: events.Time{Time: now}, Since: events.Time{Time: now},
		Versions: versions, Traffic: trafficMap(versions, w),
		Data:    make([][]stats.Data, len(versions)),
		History: History{Every: 1},
	}
	for i := range st.Data {
		st.Data[i] = make([]stats.Data, len(spec.Metrics))
	}
	st.History.record(Point{Iteration: 0, Time: now.Unix(), Traffic: w}, false)
	res := Result{
		Emit:    []Outbound{{events.TypeExperimentStarted, events.Started{Spec: spec, Traffic: trafficMap(versions, w)}}},
		Changed: true,
	}
	if spec.Kind != events.KindPerformance {
		res.Traffic = trafficMap(versions, w)
	}
	return st, res, nil
}

// initialSplit is the first split by version index. A performance
// experiment's split is nominally all to its one version: it is what the
// events report, and the engine never writes it.
func initialSplit(spec events.ExperimentSpec) []int {
	n := 1 + len(spec.Candidates)
	switch spec.Kind {
	case events.KindCanary:
		c := *spec.Traffic.InitialCandidatePercent
		return []int{100 - c, c}
	case events.KindAB, events.KindABN:
		w := make([]float64, n)
		for i := range w {
			w[i] = 1
		}
		if p := spec.Traffic.InitialCandidatePercent; p != nil {
			w[0] = float64(100 - *p)
			for i := 1; i < n; i++ {
				w[i] = float64(*p) / float64(n-1)
			}
		}
		return splitIndexed(w, box{excluded: make([]bool, n)})
	}
	return []int{100}
}

// Tick enforces maxDuration between windows: the metrics collector calls
// it on its schedule so that an experiment without data still ends. A
// Running experiment past maxDuration completes inconclusive and applies
// onFailure; otherwise the state is returned unchanged.
func (e Engine) Tick(spec events.ExperimentSpec, st State, now time.Time) (State, Result, error) {
	spec, err := prepare(spec, st)
	if err != nil {
		return st, Result{}, err
	}
	now = instant(now)
	if st.Phase != PhaseRunning {
		return st, Result{}, nil
	}
	if st.runningTime(now) < spec.Limits.MaxDuration.Duration {
		return st, Result{}, nil
	}
	next := st.clone()
	next.Updated = events.Time{Time: now}
	d := endAtLimit(spec, next, fmt.Sprintf("maxDuration %s reached", spec.Limits.MaxDuration.Duration))
	return finish(spec, next, d, now, nil, nil)
}

// prepare defaults and validates spec and checks that st is a running
// experiment of it.
func prepare(spec events.ExperimentSpec, st State) (events.ExperimentSpec, error) {
	spec = spec.Defaulted()
	if err := spec.Validate(); err != nil {
		return spec, fmt.Errorf("experiment %q: %w: %w", st.ID, ErrInvalidSpec, err)
	}
	if err := st.check(spec); err != nil {
		return spec, err
	}
	if !st.running() {
		return spec, fmt.Errorf("experiment %q is %s: %w", st.ID, st.Phase, ErrNotRunning)
	}
	return spec, nil
}

// instant drops the monotonic clock and the zone, so that a state holds
// the same time before and after a JSON round trip.
func instant(t time.Time) time.Time { return t.Round(0).UTC() }

// seed derives the Monte Carlo seed from the experiment and iteration, so
// that a redelivered event yields the same assessment.
func seed(id string, iteration int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(iteration)))
	return h.Sum64()
}
