package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingv1client "knative.dev/serving/pkg/client/clientset/versioned/typed/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

// DefaultBackoff spreads concurrent writers to one Service apart. Many
// handlers may race for the same Service; jitter of 100% keeps them from
// colliding again in lockstep. It has no Cap on purpose: wait.Backoff ends
// the retries as soon as a step would exceed its Cap. A slow factor keeps
// the last waits near a second and all 30 within Knative's delivery
// timeout.
var DefaultBackoff = wait.Backoff{Steps: 30, Duration: 5 * time.Millisecond, Factor: 1.2, Jitter: 1.0}

// DefaultDedupeWindow is how many recent event keys a Service remembers: a
// redelivery is recognised while fewer than this many other events for the
// same Service have arrived since the original. At 10 events/s per Service
// that is 100 s, several times the horizon of Knative's retries with the
// delivery settings of config/ (5 retries, exponential from 0.5 s: about
// 15 s). The keys take about 15 KiB of the state annotation.
const DefaultDedupeWindow = 1024

// Store reads and writes experiments on Knative Services.
type Store struct {
	client  servingv1client.ServingV1Interface
	backoff wait.Backoff
	window  int
	budget  int

	conflicts atomic.Int64
	queues    commitQueues
	decoded   stateCache
}

// Option configures a Store.
type Option func(*Store)

// WithBackoff sets the retry schedule on write conflicts.
func WithBackoff(b wait.Backoff) Option { return func(s *Store) { s.backoff = b } }

// WithDedupeWindow sets how many recent event keys are remembered.
func WithDedupeWindow(n int) Option { return func(s *Store) { s.window = n } }

// WithBudget sets the most bytes iter8's annotations may take (default
// Budget); tests make it small to reach it quickly.
func WithBudget(n int) Option { return func(s *Store) { s.budget = n } }

// New returns a Store over the Serving clientset.
func New(client servingv1client.ServingV1Interface, opts ...Option) *Store {
	s := &Store{client: client, backoff: DefaultBackoff, window: DefaultDedupeWindow, budget: Budget}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Conflicts returns how many write conflicts this Store has retried.
func (s *Store) Conflicts() int64 { return s.conflicts.Load() }

// Record is an experiment as read from its Service.
type Record struct {
	Service *servingv1.Service
	// Spec and State are nil when the Service has no experiment.
	Spec  *events.ExperimentSpec
	State *experiment.State
	// Past are the candidates of the Service's last finished canaries
	// (AnnotationPast), oldest first, whether or not it has an experiment
	// now; nil when it has none or PastErr is set.
	Past []experiment.Past
	// PastErr says why a past annotation present was ignored; nil when
	// it was read. It never fails a read (see past.go).
	PastErr error
	// Seen is the deduplication window: hashes of recent event keys.
	seen []string
}

// Name returns "namespace/name" of the Service.
func (r Record) Name() string { return r.Service.Namespace + "/" + r.Service.Name }

// Change is what a Mutation wants written.
type Change struct {
	// Spec replaces the stored spec when set (a start).
	Spec *events.ExperimentSpec
	// State is the engine's new state.
	State experiment.State
	// Traffic is the new split in percent per revision; nil leaves
	// spec.traffic as it is.
	Traffic map[string]int
	// Status is the one-line human status.
	Status string
	// Assessment is the latest assessment summary; nil keeps the stored
	// one.
	Assessment *events.Assessed
	// Emitted are the events emitted with this change, for the events
	// log (Seq is assigned there).
	Emitted []events.Emitted
}

// Mutation computes a Change from the current record. It may run several
// times, once per attempt, and must be a pure function of its input.
type Mutation func(Record) (*Change, error)

// Result reports what Update did.
type Result struct {
	// Duplicate is true when the event key was already applied: nothing
	// was written.
	Duplicate bool
	// Written is the Service after the write.
	Written Record
	// Conflicts counts the write conflicts retried.
	Conflicts int
	// TrafficRejected is set when the API server refused the new traffic
	// block; the state was then written without it, so nothing was lost.
	TrafficRejected error
}

// Get reads the experiment on a Service.
func (s *Store) Get(ctx context.Context, ns, name string) (Record, error) {
	svc, err := s.client.Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Record{}, classify(ns, name, err)
	}
	return s.decode(svc)
}

// List reads the experiments in a namespace ("" for all) whose phase label
// matches selector (for example "iter8.dev/experiment-phase in (running,paused)").
// A Service whose annotations cannot be read does not hide the others: it
// is left out of the records and reported in the error, which is then
// permanent; a failed list is transient.
func (s *Store) List(ctx context.Context, ns, selector string) ([]Record, error) {
	list, err := s.client.Services(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, classify(ns, "*", err)
	}
	var out []Record
	var bad []error
	for i := range list.Items {
		r, err := s.decode(&list.Items[i])
		if err != nil {
			bad = append(bad, err)
			continue
		}
		out = append(out, r)
	}
	if len(bad) > 0 {
		return out, events.Permanent(http.StatusUnprocessableEntity, errors.Join(bad...))
	}
	return out, nil
}

// apply writes ch into a copy of svc, and returns the record it wrote.
func (s *Store) apply(svc *servingv1.Service, rec Record, ch *Change, hashed string) (*servingv1.Service, Record, error) {
	next := svc.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	spec := rec.Spec
	if ch.Spec != nil {
		spec = ch.Spec
	}
	if spec == nil {
		return nil, Record{}, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("service %s: no experiment spec", rec.Name()))
	}
	seen := rec.seen
	if ch.Spec != nil && rec.State != nil && rec.State.ID != ch.State.ID {
		seen = nil
	}
	if err := writeLog(next, rec, ch); err != nil {
		return nil, Record{}, fmt.Errorf("service %s: %w", rec.Name(), err)
	}
	if hashed != "" {
		seen = append(seen, hashed)
	}
	if ch.Traffic != nil {
		order := ch.State.Versions
		targets, err := Targets(svc.Name, order, ch.Traffic)
		if err != nil {
			return nil, Record{}, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("service %s: %w", rec.Name(), err))
		}
		next.Spec.Traffic = targets
	}
	// The past outlives the experiment: a start (ch.Spec) keeps it too.
	past := writePast(next, rec, *spec, ch)
	assessment := ch.Assessment
	if assessment == nil && ch.Spec == nil {
		if old, ok := svc.Annotations[AnnotationAssessment]; ok {
			next.Annotations[AnnotationAssessment] = old
		}
	}
	st, seen, err := s.encode(next, spec, ch.State, seen, ch.Status, assessment)
	if err != nil {
		return nil, Record{}, fmt.Errorf("service %s: %w", rec.Name(), err)
	}
	if _, kept := next.Annotations[AnnotationPast]; !kept {
		past = nil // compacted away (encode)
	}
	next.Labels[LabelPhase] = phaseLabel(ch.State.Phase)
	return next, Record{Spec: spec, State: &st, Past: past, seen: seen}, nil
}

// encode writes the annotations, compacting to stay within Budget.
func (s *Store) encode(svc *servingv1.Service, spec *events.ExperimentSpec, st experiment.State, seen []string, status string, a *events.Assessed) (experiment.State, []string, error) {
	if len(seen) > s.window {
		seen = seen[len(seen)-s.window:]
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return st, nil, err
	}
	var assessJSON []byte
	if a != nil {
		if assessJSON, err = json.Marshal(a); err != nil {
			return st, nil, err
		}
	}
	for round := 0; ; round++ {
		keys, legacy := joinSeen(seen)
		stateJSON, err := json.Marshal(stored{State: st, Dedupe: keys, Seen: legacy})
		if err != nil {
			return st, nil, err
		}
		size := len(specJSON) + len(stateJSON) + len(status) + len(assessJSON) + len(svc.Annotations[AnnotationEvents]) +
			len(svc.Annotations[AnnotationPast])
		if a == nil {
			size += len(svc.Annotations[AnnotationAssessment])
		}
		if size <= s.budget {
			svc.Annotations[AnnotationExperiment] = string(specJSON)
			svc.Annotations[AnnotationState] = string(stateJSON)
			svc.Annotations[AnnotationStatus] = status
			if a != nil {
				svc.Annotations[AnnotationAssessment] = string(assessJSON)
			}
			return st, seen, nil
		}
		// Compact what can be lost without losing observations: old
		// dedupe keys, history resolution, then the assessment detail
		// (it is recomputed on the next event) and the events log (it is
		// for people; the next events start it again), and last the
		// Service's past canaries: lost for good, but only a forecast's
		// prior, which must not fail an experiment.
		switch round {
		case 0:
			if len(seen) > 64 {
				seen = seen[len(seen)-64:]
			}
		case 1, 2, 3:
			st.History = thinHistory(st.History)
		case 4:
			assessJSON = nil
			delete(svc.Annotations, AnnotationAssessment)
			delete(svc.Annotations, AnnotationEvents)
			a = &events.Assessed{}
		case 5:
			delete(svc.Annotations, AnnotationPast)
		default:
			return st, nil, events.Permanent(http.StatusUnprocessableEntity, &BudgetError{Need: size, Budget: s.budget})
		}
	}
}

// Fits reports, with a *BudgetError, whether the experiment spec and st
// would fit the annotation budget on a Service of their own: no dedupe
// keys, no assessment, no past canaries, no user annotations. The blank
// Service is only measured, never written, so it removes nothing; and the
// past cannot make a state that fits here fail on the Service, since
// encode drops it before refusing a state.
func (s *Store) Fits(spec events.ExperimentSpec, st experiment.State) error {
	svc := &servingv1.Service{}
	svc.Annotations = map[string]string{}
	_, _, err := s.encode(svc, &spec, st, nil, "", nil)
	return err
}

// stored is the JSON form of the state annotation: the engine's state and
// the dedupe window side by side. The window is strings of fixed-width
// keys (see hashKey), oldest first: a thousand keys parse as one JSON
// string, not a thousand, on every event. Dedupe holds the keys of
// events.DedupeKeyOf; Seen those written before it (see legacyHash), until
// they age out.
type stored struct {
	experiment.State
	Dedupe string `json:"dedupe,omitempty"`
	Seen   string `json:"seen,omitempty"`
}

func (s *Store) decode(svc *servingv1.Service) (Record, error) {
	r := Record{Service: svc}
	// Read first, and whatever the experiment's annotations hold: the past
	// outlives experiments, and a new one keeps it.
	r.Past, r.PastErr = decodePast(r)
	specJSON, hasSpec := svc.Annotations[AnnotationExperiment]
	stateJSON, hasState := svc.Annotations[AnnotationState]
	if !hasSpec && !hasState {
		return r, nil
	}
	if !hasSpec || !hasState {
		return r, events.Permanent(http.StatusUnprocessableEntity,
			fmt.Errorf("service %s: annotations %s and %s must come together", r.Name(), AnnotationExperiment, AnnotationState))
	}
	var spec events.ExperimentSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return r, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("service %s: annotation %s: %w", r.Name(), AnnotationExperiment, err))
	}
	key := svc.Namespace + "/" + svc.Name
	if state, seen, ok := s.decoded.get(key, stateJSON); ok {
		r.Spec, r.State, r.seen = &spec, &state, seen
		return r, nil
	}
	var st stored
	err := json.Unmarshal([]byte(stateJSON), &st)
	if err != nil {
		return r, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("service %s: annotation %s: %w", r.Name(), AnnotationState, err))
	}
	if r.seen, err = splitSeen(st.Dedupe, st.Seen); err != nil {
		return r, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("service %s: annotation %s: %w", r.Name(), AnnotationState, err))
	}
	r.Spec, r.State = &spec, &st.State
	s.decoded.put(key, stateJSON, st.State, r.seen)
	return r, nil
}

// Queued is how many writes to the Service wait in this process behind the
// one being written: the next group commit's size.
func (s *Store) Queued(ns, name string) int { return s.queues.queued(ns + "/" + name) }
