package experiment

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// SchemaVersion is the version of State's JSON form. The engine refuses a
// state of another version rather than misread it.
const SchemaVersion = 1

// MaxHistory bounds State.History.Points, which keeps the state
// annotation small however long an experiment runs.
const MaxHistory = 100

// Phase is where an experiment is in its life.
type Phase string

const (
	// PhasePending is for callers that have accepted a start but not yet
	// applied it (say, while a revision becomes Ready). The engine never
	// produces it and treats it as not running.
	PhasePending Phase = "Pending"
	// PhaseRunning: data is folded in and decisions are made.
	PhaseRunning Phase = "Running"
	// PhasePaused: data is still folded in and assessed, but traffic is
	// frozen, nothing is decided and maxDuration does not run.
	PhasePaused Phase = "Paused"
	// PhaseCompleted: the experiment ended with an Outcome.
	PhaseCompleted Phase = "Completed"
	// PhaseFailed: the experiment could not go on for a reason outside its
	// statistics (see Fail).
	PhaseFailed Phase = "Failed"
)

// Terminal reports whether an experiment in phase p has ended: Completed
// or Failed.
func (p Phase) Terminal() bool { return p == PhaseCompleted || p == PhaseFailed }

// State is everything an experiment remembers between events. It is stored
// as JSON in the Service's iter8.dev/state annotation, so its form is
// compact: per-version lists follow Versions' order, and per-metric lists
// follow the spec's metrics. The spec itself is not part of the state; the
// caller passes the same spec to every call.
type State struct {
	Schema  int    `json:"schema"`
	ID      string `json:"id"`
	Phase   Phase  `json:"phase"`
	Outcome string `json:"outcome,omitempty"` // events.Outcome*, once Completed
	Winner  string `json:"winner,omitempty"`  // the promoted version, if any
	// Reason says why the phase last changed, for people.
	Reason  string      `json:"reason,omitempty"`
	Started events.Time `json:"started"`
	Updated events.Time `json:"updated"`
	// Since is when the phase last changed.
	Since events.Time `json:"since"`
	// PausedFor is the time spent paused before Since; maxDuration counts
	// running time only.
	PausedFor events.Duration `json:"pausedFor"`
	// Iteration counts the windows folded in.
	Iteration int `json:"iteration"`
	// Versions is the baseline followed by the candidates.
	Versions []string `json:"versions"`
	// Traffic is the split the engine last asked for, every version
	// present. A performance experiment never moves traffic; its split is
	// nominally all to its one version.
	Traffic map[string]int `json:"traffic"`
	// Excluded lists the versions shown to violate an objective, in
	// Versions' order. They get no traffic in A/B(/n) experiments.
	Excluded []string `json:"excluded,omitempty"`
	// Data[v][m] accumulates version v's metric m over every window.
	Data [][]stats.Data `json:"data"`
	// Evidence is the reward e-processes' state (stats.Evidence), folded
	// one window at a time; nil without a reward.
	Evidence *stats.Evidence `json:"evidence,omitempty"`
	// WindowEnd is the latest end of any window folded in.
	WindowEnd events.Time `json:"windowEnd"`
	// Collected is the end of the last window the metrics collector folded
	// in: its next window starts there. The functions set it in the same
	// write as the window, so that a crash can neither skip nor repeat one.
	Collected events.Time `json:"collected,omitzero"`
	// Load is what the built-in load generator did; nil without a load
	// block or before its first burst.
	Load *LoadStatus `json:"load,omitempty"`
	// Last summarises the latest assessment; nil before the first.
	Last *Snapshot `json:"last,omitempty"`
	// History is the downsampled trace behind "traffic over time" and
	// "win probability over time".
	History History `json:"history"`
}

// Snapshot is a compact summary of one assessment.
type Snapshot struct {
	// Leader is the version most likely best on the reward; empty without
	// a reward.
	Leader string `json:"leader,omitempty"`
	// Prob is per version P(best on the reward) for ab and abn, and
	// P(all objectives hold) for canary and performance; rounded to three
	// decimals, -1 where unknown.
	Prob []float64 `json:"prob"`
	// Verdicts is per version "satisfied", "violated" or "undecided".
	Verdicts []string `json:"verdicts"`
	// Decision is what the engine decided, or what evidence it waits for.
	Decision string `json:"decision"`
}

// History holds at most MaxHistory points, evenly spaced: a point is kept
// for every Every-th iteration (iteration 0 is the start), and when the
// list overflows, Every doubles and the points off the new spacing go. The
// iteration that ends the experiment is always recorded, so the last point
// is the final split.
type History struct {
	Every  int     `json:"every"`
	Points []Point `json:"points,omitempty"`
}

// Point is the experiment at the end of one iteration.
type Point struct {
	Iteration int   `json:"i"`
	Time      int64 `json:"t"` // Unix seconds
	// Traffic is percent per version in State.Versions' order.
	Traffic []int `json:"w"`
	// Prob is as Snapshot.Prob; nil at the start.
	Prob []float64 `json:"p,omitempty"`
}

func (h *History) record(p Point, final bool) {
	if h.Every < 1 {
		h.Every = 1
	}
	if p.Iteration%h.Every != 0 && !final {
		return
	}
	h.Points = append(h.Points, p)
	for len(h.Points) > MaxHistory {
		h.Every *= 2
		kept := h.Points[:0]
		for i, q := range h.Points {
			if q.Iteration%h.Every == 0 || (final && i == len(h.Points)-1) {
				kept = append(kept, q)
			}
		}
		h.Points = kept
	}
}

// clone deep-copies s so that a call never writes through to its input.
func (s State) clone() State {
	c := s
	c.Versions = slices.Clone(s.Versions)
	if s.Traffic != nil {
		c.Traffic = make(map[string]int, len(s.Traffic))
		for k, v := range s.Traffic {
			c.Traffic[k] = v
		}
	}
	c.Excluded = slices.Clone(s.Excluded)
	c.Data = make([][]stats.Data, len(s.Data))
	for i, row := range s.Data {
		c.Data[i] = make([]stats.Data, len(row))
		for j, d := range row {
			d.Bounds = slices.Clone(d.Bounds)
			d.Counts = slices.Clone(d.Counts)
			c.Data[i][j] = d
		}
	}
	if s.Evidence != nil {
		c.Evidence = s.Evidence.Clone()
	}
	if s.Load != nil {
		l := *s.Load
		c.Load = &l
	}
	if s.Last != nil {
		l := *s.Last
		l.Prob = slices.Clone(l.Prob)
		l.Verdicts = slices.Clone(l.Verdicts)
		c.Last = &l
	}
	c.History.Points = make([]Point, len(s.History.Points))
	for i, p := range s.History.Points {
		p.Traffic = slices.Clone(p.Traffic)
		p.Prob = slices.Clone(p.Prob)
		c.History.Points[i] = p
	}
	if len(c.History.Points) == 0 {
		c.History.Points = nil
	}
	return c
}

// check refuses a state that does not belong to spec, or that this engine
// cannot read: acting on it would mislabel data.
func (s State) check(spec events.ExperimentSpec) error {
	if s.Schema != SchemaVersion {
		return fmt.Errorf("%w: state schema %d, this engine reads %d", ErrStateMismatch, s.Schema, SchemaVersion)
	}
	if s.ID == "" {
		return fmt.Errorf("%w: state has no experiment id", ErrStateMismatch)
	}
	if want := spec.Versions(); !slices.Equal(s.Versions, want) {
		return fmt.Errorf("%w: experiment %s has versions %v, the spec %v", ErrStateMismatch, s.ID, s.Versions, want)
	}
	if len(s.Data) != len(s.Versions) {
		return fmt.Errorf("%w: experiment %s has data for %d versions, want %d", ErrStateMismatch, s.ID, len(s.Data), len(s.Versions))
	}
	for i, row := range s.Data {
		if len(row) != len(spec.Metrics) {
			return fmt.Errorf("%w: experiment %s has %d metrics for %s, the spec %d", ErrStateMismatch, s.ID, len(row), s.Versions[i], len(spec.Metrics))
		}
	}
	sum := 0
	for _, v := range s.Versions {
		p, ok := s.Traffic[v]
		if !ok || p < 0 || p > 100 {
			return fmt.Errorf("%w: experiment %s has no valid traffic for %s in %v", ErrStateMismatch, s.ID, v, s.Traffic)
		}
		sum += p
	}
	if sum != 100 || len(s.Traffic) != len(s.Versions) {
		return fmt.Errorf("%w: experiment %s has traffic %v, want percents of %v summing to 100", ErrStateMismatch, s.ID, s.Traffic, s.Versions)
	}
	return nil
}

// running reports whether the experiment takes data and control actions.
func (s State) running() bool { return s.Phase == PhaseRunning || s.Phase == PhasePaused }

// runningTime is the time spent Running since the start, the clock
// maxDuration reads.
func (s State) runningTime(now time.Time) time.Duration {
	d := now.Sub(s.Started.Time) - s.PausedFor.Duration
	if s.Phase == PhasePaused {
		d -= now.Sub(s.Since.Time)
	}
	return d
}

// excludedSet returns Excluded by version index.
func (s State) excludedSet() []bool {
	out := make([]bool, len(s.Versions))
	for i, v := range s.Versions {
		out[i] = slices.Contains(s.Excluded, v)
	}
	return out
}

// trafficList returns Traffic by version index; nil without traffic.
func (s State) trafficList() []int {
	if s.Traffic == nil {
		return nil
	}
	out := make([]int, len(s.Versions))
	for i, v := range s.Versions {
		out[i] = s.Traffic[v]
	}
	return out
}

// trafficMap turns a split by version index into the map the Service and
// events use.
func trafficMap(versions []string, w []int) map[string]int {
	if w == nil {
		return nil
	}
	m := make(map[string]int, len(versions))
	for i, v := range versions {
		m[v] = w[i]
	}
	return m
}

// round3 keeps probabilities short in the annotation; -1 stands for
// unknown because JSON has no NaN.
func round3(p float64) float64 {
	if math.IsNaN(p) || math.IsInf(p, 0) {
		return -1
	}
	return math.Round(p*1000) / 1000
}

// Clone returns a deep copy of s, sharing no memory with it.
func (s State) Clone() State { return s.clone() }
