package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"knative.dev/pkg/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"
	servingv1client "knative.dev/serving/pkg/client/clientset/versioned/typed/serving/v1"
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

// DeployRevisions deploys versions of a Service the way a user does with
// `kn service update --revision-name <name>-<version> --traffic <name>-<first>=100`:
// each version is a new template named "<name>-<version>" (with the version
// in an environment variable so the template really changes), and each must
// become the latest ready revision before the next. The first version keeps
// all the traffic, so that candidates serve nothing before an experiment
// gives them their share. The Service is created, labelled iter8.dev/enabled=true,
// when it does not exist. It needs the Knative controller.
func (c *Cluster) DeployRevisions(ctx context.Context, ns, name, image string, versions ...string) error {
	sv, err := servingclient.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	for _, v := range versions {
		rev := name + "-" + v
		// A conflict is retried on the fresh object: the controller may
		// still be writing the status of the version before.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			svc, err := sv.ServingV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				svc = &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
					Labels: map[string]string{"iter8.dev/enabled": "true"}}}
				svc.Spec.Template.Spec.Containers = []corev1.Container{{Image: image}}
				setVersion(svc, rev, v)
				_, err = sv.ServingV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
			case err == nil:
				setVersion(svc, rev, v)
				svc.Spec.Traffic = []servingv1.TrafficTarget{{RevisionName: name + "-" + versions[0], Percent: ptr.Int64(100), LatestRevision: ptr.Bool(false)}}
				_, err = sv.ServingV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{})
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("service %s/%s: deploying %s: %w", ns, name, rev, err)
		}
		if err := c.WaitServiceReady(ctx, ns, name, rev); err != nil {
			return err
		}
	}
	return nil
}

// UpdateService changes Service name as a writer other than iter8's store
// does, a user or a test: Get, change, Update, retried on conflict from
// the fresh object, since the Knative controller may still be writing the
// Service's status (a test's unretried write lost that race on a busy
// machine).
func UpdateService(ctx context.Context, svcs servingv1client.ServiceInterface, name string, change func(*servingv1.Service)) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := svcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(cur)
		_, err = svcs.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("updating service %s: %w", name, err)
	}
	return nil
}

func setVersion(svc *servingv1.Service, rev, version string) {
	svc.Spec.Template.Name = rev
	ctr := &svc.Spec.Template.Spec.Containers[0]
	ctr.Env = []corev1.EnvVar{{Name: "VERSION", Value: version}}
}

// WaitServiceTraffic waits until the Route serves exactly want (percent per
// revision; revisions at 0 may be listed or absent) in status.traffic.
func (c *Cluster) WaitServiceTraffic(ctx context.Context, ns, name string, want map[string]int) error {
	sv, err := servingclient.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	var got map[string]int
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s, err := sv.ServingV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got, _ = Split(s.Status.Traffic)
		for rev, p := range want {
			if got[rev] != p {
				return false, nil
			}
		}
		for rev, p := range got {
			if want[rev] != p {
				return false, nil
			}
		}
		return s.Status.ObservedGeneration == s.Generation, nil
	})
	if err != nil {
		return fmt.Errorf("service %s/%s: status.traffic %v, want %v: %w", ns, name, got, want, err)
	}
	return nil
}

// Split sums the positive percents of traffic targets by revision, and
// reports whether there are some and each names its revision: a
// latestRevision target names none in a Service's spec, and an empty
// spec.traffic routes all to the latest revision.
func Split(targets []servingv1.TrafficTarget) (split map[string]int, named bool) {
	split = map[string]int{}
	for _, t := range targets {
		if t.Percent != nil && *t.Percent > 0 {
			split[t.RevisionName] += int(*t.Percent)
		}
	}
	_, unnamed := split[""]
	return split, len(split) > 0 && !unnamed
}
