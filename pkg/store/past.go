package store

import (
	"encoding/json"
	"fmt"
	"slices"

	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

// The past annotation (AnnotationPast) is what a Service's finished
// canaries leave for its next ones: their candidates' ratio-metric counts
// (experiment.Past), the prior of the next canary's ETA. It outlives the
// experiment that wrote it: a new experiment on the Service keeps it, and
// so does every other write of the store. Nothing in iter8 removes all of
// its state from a Service (there is no such command); a user who wants the
// Service's history forgotten removes this annotation by hand, and deleting
// the Service removes it with the rest.
//
// It is advisory: the ETA is only a forecast, so an annotation that cannot
// be read (too large, not JSON, counts no canary could have written) is
// ignored (Record.PastErr says why), never fails a read or a write, and is
// deleted by the next write: the key is iter8's, and a hand edit that
// cannot be read must not take the annotation budget from the experiment.

// MaxPastBytes bounds the past annotation iter8 reads and writes. An entry
// is about 110 bytes and 40 more per ratio metric, so experiment.PastCap
// entries of canaries with a few ratio metrics take well under 2 KiB; the
// bound leaves room for canaries with many, and, like MaxLogBytes, keeps
// the annotation within a sixteenth of the Budget. A canary with so many
// long-named metrics that PastCap entries would not fit keeps fewer
// (remembered drops the oldest), so what iter8 writes it can always read.
const MaxPastBytes = 8 << 10

// decodePast reads the past annotation of r's Service: nil and no error
// when it has none; nil and why, naming the Service and the annotation,
// when it cannot be read.
func decodePast(r Record) ([]experiment.Past, error) {
	raw, ok := r.Service.Annotations[AnnotationPast]
	if !ok {
		return nil, nil
	}
	past, err := parsePast(raw)
	if err != nil {
		return nil, fmt.Errorf("service %s: annotation %s: %w", r.Name(), AnnotationPast, err)
	}
	return past, nil
}

// parsePast is the past annotation's text read back: within
// MaxPastBytes, JSON, and counts a canary could have written.
func parsePast(raw string) ([]experiment.Past, error) {
	if len(raw) > MaxPastBytes {
		return nil, fmt.Errorf("%d bytes, over the %d-byte bound", len(raw), MaxPastBytes)
	}
	var past []experiment.Past
	if err := json.Unmarshal([]byte(raw), &past); err != nil {
		return nil, err
	}
	if err := experiment.ValidatePast(past); err != nil {
		return nil, err
	}
	return past, nil
}

// ends reports whether ch is the write that ends rec's experiment: from a
// phase that is not terminal to one that is. The store's write is
// conditional on the resourceVersion rec was read at, and a conflict
// re-reads and re-runs the mutation, so exactly one write of an experiment
// sees it end: a retry, a replayed terminal event or a later write starts
// from a record whose experiment has already ended.
func ends(rec Record, ch *Change) bool {
	return rec.State != nil && !rec.State.Phase.Terminal() && ch.State.Phase.Terminal() && rec.State.ID == ch.State.ID
}

// writePast writes into next (a copy of rec's Service, so holding rec's
// past annotation byte for byte) the past annotation after ch, and returns
// the past it holds: rec's, with the candidate of the canary ch ends added.
// An annotation rec could not read is deleted.
func writePast(next *servingv1.Service, rec Record, spec events.ExperimentSpec, ch *Change) []experiment.Past {
	past := rec.Past
	if rec.PastErr != nil {
		delete(next.Annotations, AnnotationPast)
	}
	if !ends(rec, ch) {
		return past
	}
	if added, text, ok := remembered(past, spec, ch.State); ok {
		next.Annotations[AnnotationPast] = text
		return added
	}
	return past
}

// remembered is past with the candidate of the finished canary st of spec
// added (experiment.Remember), and its annotation's text, the oldest
// entries dropped as needed to keep within MaxPastBytes. It is false when
// there is nothing to add (experiment.PastOf), when past already holds the
// experiment (a second guard against counting one canary twice), or when
// the entry would not be read back (experiment.ValidatePast: counts beyond
// any real canary's).
func remembered(past []experiment.Past, spec events.ExperimentSpec, st experiment.State) ([]experiment.Past, string, bool) {
	p, ok := experiment.PastOf(spec, st)
	if !ok || slices.ContainsFunc(past, func(q experiment.Past) bool { return q.ID == p.ID }) {
		return nil, "", false
	}
	next := experiment.Remember(past, p)
	if experiment.ValidatePast(next) != nil {
		return nil, "", false
	}
	for ; len(next) > 0; next = next[1:] {
		b, err := json.Marshal(next)
		if err != nil {
			return nil, "", false
		}
		if len(b) <= MaxPastBytes {
			return next, string(b), true
		}
	}
	return nil, "", false
}
