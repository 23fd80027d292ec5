package functions

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// errRouteBroken stops a write when the Service's Route reports a failure:
// a revision under test may have been deleted, and traffic must not be
// written towards it before that is known.
var errRouteBroken = errors.New("route not ready")

// routeBroken reads, from the Service already in hand, whether its Route
// says it cannot serve its traffic. It costs no API call on the normal path.
func routeBroken(svc *servingv1.Service) bool {
	c := svc.Status.GetCondition(servingv1.ServiceConditionRoutesReady)
	return c != nil && c.Status == corev1.ConditionFalse && svc.Status.ObservedGeneration == svc.Generation
}

// experimentOnRoutedService is experimentOn for a Service whose Route
// serves its traffic: traffic must not be written towards a revision that
// may have been deleted before that is known (errRouteBroken).
func experimentOnRoutedService(r store.Record) (events.ExperimentSpec, experiment.State, error) {
	spec, st, err := experimentOn(r)
	if err == nil && routeBroken(r.Service) {
		return spec, st, errRouteBroken
	}
	return spec, st, err
}

// vanished handles a Route failure seen while folding a window in (o). When
// a revision of the experiment is gone, the engine fails the experiment and
// sends traffic back to the baseline (or, if the baseline is the one gone,
// to the first version that remains), in the same write that records the
// event; the event is then answered with a permanent error naming the
// revision. When every revision is there, the failure is someone else's and
// the window goes in.
func (h *Handlers) vanished(ctx context.Context, ns, name, key string, o op) (store.Result, stepped, error) {
	rec, err := h.store.Get(ctx, ns, name)
	if err != nil {
		return store.Result{}, stepped{}, err
	}
	if rec.State == nil {
		return store.Result{}, stepped{}, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("service %s/%s: no experiment", ns, name))
	}
	var gone []string
	for _, v := range rec.State.Versions {
		if err := h.store.CheckRevisions(ctx, ns, name, []string{v}); err != nil {
			if !events.IsPermanent(err) {
				return store.Result{}, stepped{}, err
			}
			gone = append(gone, v)
		}
	}
	if len(gone) == 0 {
		return h.step(ctx, ns, name, key, experimentOn, o)
	}
	f := experiment.Failure{Reason: fmt.Sprintf("revision %v of the experiment is gone", gone), Gone: gone}
	res, out, err := h.step(ctx, ns, name, key, experimentOn, h.failOp(f))
	if err != nil {
		return res, out, err
	}
	h.forward(ctx, out)
	to := "nothing"
	for v, p := range res.Written.State.Traffic {
		if p == 100 {
			to = v
		}
	}
	return res, out, events.Permanent(http.StatusUnprocessableEntity,
		fmt.Errorf("service %s/%s: %s; the experiment failed and traffic went to %s", ns, name, f.Reason, to))
}
