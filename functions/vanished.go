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

// vanished handles a Route failure seen during an observation. When a
// revision of the experiment is gone, the experiment fails and traffic goes
// back to the baseline (or, if the baseline is the one gone, to the first
// version that remains), in the same write that records the event; the
// event is then answered with a permanent error naming the revision. When
// every revision is there, the failure is someone else's and the
// observation goes ahead.
func (h *Handlers) vanished(ctx context.Context, ns, name, key string, obs events.MetricsObserved, collected bool) (store.Result, experiment.Result, error) {
	rec, err := h.store.Get(ctx, ns, name)
	if err != nil {
		return store.Result{}, experiment.Result{}, err
	}
	if rec.State == nil {
		return store.Result{}, experiment.Result{}, events.Permanent(http.StatusUnprocessableEntity, fmt.Errorf("service %s/%s: no experiment", ns, name))
	}
	var gone []string
	for _, v := range rec.State.Versions {
		if err := h.store.CheckRevisions(ctx, ns, name, []string{v}); err != nil {
			if !events.IsPermanent(err) {
				return store.Result{}, experiment.Result{}, err
			}
			gone = append(gone, v)
		}
	}
	if len(gone) == 0 {
		return h.observeChecked(ctx, ns, name, key, obs, false, collected)
	}
	reason := fmt.Sprintf("revision %v of the experiment is gone", gone)
	now := h.now()
	var out experiment.Result
	res, err := h.store.Update(ctx, ns, name, key, func(r store.Record) (*store.Change, error) {
		spec, st, err := running(r)
		if err != nil {
			return nil, err
		}
		next, result, err := experiment.Fail(spec, st, reason, now)
		if err != nil {
			return nil, engineError(r.Name(), err)
		}
		// The Service routes to the survivor alone (a target naming a
		// missing revision would keep the Route broken); the state keeps
		// every version, the gone ones at 0, so that it agrees with
		// spec.traffic.
		to := survivor(st.Versions, gone)
		if to != nil {
			next.Traffic = make(map[string]int, len(st.Versions))
			for _, v := range st.Versions {
				next.Traffic[v] = to[v]
			}
		}
		out = result.WithService(r.Service.Name)
		ch := change(spec, next, out)
		ch.Traffic = to
		return ch, nil
	})
	if err != nil {
		return res, out, err
	}
	h.forward(ctx, ns, name, out)
	to := "nothing"
	for v, p := range res.Written.State.Traffic {
		if p == 100 {
			to = v
		}
	}
	return res, out, events.Permanent(http.StatusUnprocessableEntity,
		fmt.Errorf("service %s/%s: %s; the experiment failed and traffic went to %s", ns, name, reason, to))
}

// survivor sends all traffic to the first version that remains, the
// baseline when it does; nil (unchanged) when none does.
func survivor(versions, gone []string) map[string]int {
	for _, v := range versions {
		isGone := false
		for _, g := range gone {
			isGone = isGone || g == v
		}
		if !isGone {
			return map[string]int{v: 100}
		}
	}
	return nil
}
