package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
)

// noExperimentError is a Service without an experiment: an error that
// says how to start one.
type noExperimentError struct {
	ns, name string
	// nsFlag is " -n NS" when the user named the namespace.
	nsFlag string
}

func (e noExperimentError) Error() string {
	return fmt.Sprintf("service %s/%s has no experiment; start one with: kn iter8 start %s%s -f experiment.yaml",
		e.ns, e.name, e.name, e.nsFlag)
}

// loadExperiment reads the experiment on Service ns/name.
func loadExperiment(ctx context.Context, cl *clients, kf *kubeFlags, name string, warn io.Writer) (store.Record, present.Input, error) {
	ns := cl.namespace
	rec, err := store.New(cl.serving).Get(ctx, ns, name)
	switch {
	case apierrors.IsNotFound(err):
		return rec, present.Input{}, fmt.Errorf("service %s/%s not found", ns, name)
	case err != nil:
		return rec, present.Input{}, fmt.Errorf("reading service %s/%s: %w", ns, name, err)
	case rec.Spec == nil:
		e := noExperimentError{ns: ns, name: name}
		if kf.namespace != "" {
			e.nsFlag = " -n " + ns
		}
		return rec, present.Input{}, e
	}
	return rec, inputOf(rec, warn), nil
}

// inputOf collects what the views need from a record: the decoded
// experiment, the live split and the annotations only people read. An
// unreadable assessment is reported and left out rather than failing the
// view: the state alone still tells most of the story.
func inputOf(rec store.Record, warn io.Writer) present.Input {
	svc := rec.Service
	in := present.Input{
		Namespace: svc.Namespace, Service: svc.Name,
		Spec: *rec.Spec, State: *rec.State,
		Traffic: store.Split(svc),
		Status:  svc.Annotations[store.AnnotationStatus],
		Past:    rec.Past, PastErr: rec.PastErr,
	}
	if raw := svc.Annotations[store.AnnotationAssessment]; raw != "" {
		var a events.Assessed
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			fmt.Fprintf(warn, "Warning: service %s/%s: annotation %s is unreadable, showing the state only: %v\n",
				svc.Namespace, svc.Name, store.AnnotationAssessment, err)
		} else if len(a.Versions) > 0 {
			in.Assessment = &a
		}
	}
	return in
}
