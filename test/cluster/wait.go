package cluster

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"
)

// WaitServiceReady waits until the Service is Ready with latestReady as its
// latest ready revision (any revision when empty).
func (c *Cluster) WaitServiceReady(ctx context.Context, ns, name, latestReady string) error {
	sv, err := servingclient.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s, err := sv.ServingV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = fmt.Sprintf("generation %d observed %d latestReady %q conditions %v", s.Generation, s.Status.ObservedGeneration, s.Status.LatestReadyRevisionName, s.Status.Conditions)
		return s.IsReady() && s.Status.ObservedGeneration == s.Generation &&
			(latestReady == "" || s.Status.LatestReadyRevisionName == latestReady), nil
	})
	if err != nil {
		return fmt.Errorf("service %s/%s not ready: %w (last: %s)", ns, name, err, last)
	}
	return nil
}
