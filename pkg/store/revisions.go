package store

import (
	"context"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
)

// CheckRevisions verifies that every version is a Revision of the Service
// and is not failing. A revision still deploying is a transient error, so
// that a start sent right after `kn service update` is retried until the
// revision is Ready. A revision whose status nobody reports (no controller)
// is accepted.
func (s *Store) CheckRevisions(ctx context.Context, ns, service string, versions []string) error {
	for _, v := range versions {
		rev, err := s.client.Revisions(ns).Get(ctx, v, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return events.Permanent(http.StatusUnprocessableEntity,
				fmt.Errorf("service %s/%s: revision %q does not exist", ns, service, v))
		}
		if err != nil {
			return classify(ns, service, err)
		}
		if owner := rev.Labels[serving.ServiceLabelKey]; owner != service {
			return events.Permanent(http.StatusUnprocessableEntity,
				fmt.Errorf("service %s/%s: revision %q belongs to service %q", ns, service, v, owner))
		}
		if err := revisionReady(rev); err != nil {
			return fmt.Errorf("service %s/%s: %w", ns, service, err)
		}
	}
	return nil
}

func revisionReady(rev *servingv1.Revision) error {
	c := rev.Status.GetCondition(servingv1.RevisionConditionReady)
	switch {
	case c == nil:
		return nil
	case c.Status == corev1.ConditionFalse:
		return events.Permanent(http.StatusUnprocessableEntity,
			fmt.Errorf("revision %q is failing: %s: %s", rev.Name, c.Reason, c.Message))
	case c.Status == corev1.ConditionUnknown:
		return events.Transient(http.StatusServiceUnavailable,
			fmt.Errorf("revision %q is not ready yet: %s", rev.Name, c.Reason))
	}
	return nil
}
