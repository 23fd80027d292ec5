package store

import "github.com/iter8-knative/iter8/events"

// Annotation and label keys on the Knative Service.
const (
	// AnnotationExperiment holds the experiment spec, defaults applied, as
	// JSON.
	AnnotationExperiment = events.Prefix + "experiment"
	// AnnotationState holds the engine's state and the deduplication
	// window, as compact JSON.
	AnnotationState = events.Prefix + "state"
	// AnnotationStatus is one human line for `kn service describe`.
	AnnotationStatus = events.Prefix + "status"
	// AnnotationAssessment holds the latest assessment summary
	// (events.Assessed) for the kn plugin.
	AnnotationAssessment = events.Prefix + "assessment"
	// AnnotationEvents holds the last events the functions emitted for
	// the experiment (events.Emitted), as compact JSON: see LogSize.
	AnnotationEvents = events.Prefix + "events"
	// AnnotationPast holds the candidates of the Service's last
	// experiment.PastCap finished canaries (experiment.Past), oldest
	// first, as compact JSON: the prior of the next canary's ETA. Unlike
	// the others it outlives its experiment, so that the Service's next
	// canaries can learn from it (past.go); it is advisory, and one that
	// cannot be read is ignored and deleted, never fatal.
	AnnotationPast = events.Prefix + "past"

	// LabelPhase carries the experiment's phase so that the collector and
	// kn can list experiments with a selector.
	LabelPhase = events.Prefix + "experiment-phase"
	// LabelEnabled is the opt-in: iter8 acts only on Services labelled
	// iter8.dev/enabled=true.
	LabelEnabled = events.Prefix + "enabled"
)

// Budget is the most bytes iter8's annotations may take together. Kubernetes
// allows 256 KiB for all of an object's annotations; iter8 keeps to half so
// that the user's own annotations and Knative's always fit.
const Budget = 128 << 10
