package stack

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

func TestCaughtUp(t *testing.T) {
	split := func(v1, v2 int64) []servingv1.TrafficTarget {
		return []servingv1.TrafficTarget{
			{RevisionName: "shop-v1", Percent: ptr.Int64(v1)},
			{RevisionName: "shop-v2", Percent: ptr.Int64(v2)},
		}
	}
	service := func(gen, observed int64, ready corev1.ConditionStatus, spec, status []servingv1.TrafficTarget) *servingv1.Service {
		svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Generation: gen}}
		svc.Spec.Traffic = spec
		svc.Status.ObservedGeneration = observed
		svc.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionReady, Status: ready}}
		svc.Status.Traffic = status
		return svc
	}
	latest := []servingv1.TrafficTarget{{LatestRevision: ptr.Bool(true), Percent: ptr.Int64(100)}}
	for _, tc := range []struct {
		name string
		svc  *servingv1.Service
		want bool
	}{{
		name: "served as specified",
		svc:  service(4, 4, corev1.ConditionTrue, split(50, 50), split(50, 50)),
		want: true,
	}, {
		name: "a zero target listed on one side only",
		svc:  service(4, 4, corev1.ConditionTrue, split(0, 100), split(0, 100)[1:]),
		want: true,
	}, {
		name: "the new generation not yet observed",
		svc:  service(5, 4, corev1.ConditionTrue, split(50, 50), split(70, 30)),
	}, {
		name: "observed but not ready",
		svc:  service(5, 5, corev1.ConditionUnknown, split(50, 50), split(70, 30)),
	}, {
		// The stale read the busy CI run hit: observed, Ready, the old split.
		name: "observed and ready, but the Route serves the old split",
		svc:  service(5, 5, corev1.ConditionTrue, split(50, 50), split(70, 30)),
	}, {
		name: "a revision the spec does not route to",
		svc:  service(5, 5, corev1.ConditionTrue, split(0, 100), append(split(0, 90), servingv1.TrafficTarget{RevisionName: "shop-v3", Percent: ptr.Int64(10)})),
	}, {
		// The spec names no revision to compare with: the generation
		// and Ready are all there is.
		name: "latestRevision in the spec",
		svc:  service(2, 2, corev1.ConditionTrue, latest, []servingv1.TrafficTarget{{RevisionName: "shop-v1", Percent: ptr.Int64(100)}}),
		want: true,
	}, {
		name: "no spec.traffic: all to the latest revision",
		svc:  service(1, 1, corev1.ConditionTrue, nil, []servingv1.TrafficTarget{{RevisionName: "shop-v1", Percent: ptr.Int64(100)}}),
		want: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := caughtUp(tc.svc); got != tc.want {
				t.Errorf("caughtUp = %v, want %v (spec %v, status %v)", got, tc.want, tc.svc.Spec.Traffic, tc.svc.Status.Traffic)
			}
		})
	}
}
