package integration

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/test/cluster"
)

const image = "registry.example.com/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// TestSmokeKnativeTrafficFollows proves the harness: the real Serving
// controller turns template changes into Revisions, and status.traffic
// follows a split written into spec.traffic.
func TestSmokeKnativeTrafficFollows(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sv := servingclient.NewForConfigOrDie(c.Config).ServingV1()

	svc := &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Name: "shop-v1"},
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{
				Image: image, Env: []corev1.EnvVar{{Name: "VERSION", Value: "v1"}},
			}}}},
		}}},
	}
	if _, err := sv.Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	waitReady(ctx, t, c, ns, "shop", "shop-v1")

	if err := cluster.UpdateService(ctx, sv.Services(ns), "shop", func(cur *servingv1.Service) {
		cur.Spec.Template.Name = "shop-v2"
		cur.Spec.Template.Spec.Containers[0].Env[0].Value = "v2"
	}); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, c, ns, "shop", "shop-v2")
	for _, rev := range []string{"shop-v1", "shop-v2"} {
		if _, err := sv.Revisions(ns).Get(ctx, rev, metav1.GetOptions{}); err != nil {
			t.Fatalf("revision %s: %v", rev, err)
		}
	}

	if err := cluster.UpdateService(ctx, sv.Services(ns), "shop", func(cur *servingv1.Service) {
		cur.Spec.Traffic = []servingv1.TrafficTarget{
			{RevisionName: "shop-v1", Percent: ptr.To[int64](30), LatestRevision: ptr.To(false)},
			{RevisionName: "shop-v2", Percent: ptr.To[int64](70), LatestRevision: ptr.To(false)},
		}
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"shop-v1": 30, "shop-v2": 70}
	var got map[string]int64
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s, err := sv.Services(ns).Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = map[string]int64{}
		for _, tt := range s.Status.Traffic {
			if tt.Percent != nil {
				got[tt.RevisionName] += *tt.Percent
			}
		}
		return s.Status.ObservedGeneration == s.Generation && cmp.Equal(got, want), nil
	})
	if err != nil {
		t.Fatalf("status.traffic did not follow spec.traffic: %v (-want +got):\n%s", err, cmp.Diff(want, got))
	}
}

func waitReady(ctx context.Context, t *testing.T, c *cluster.Cluster, ns, name, rev string) {
	t.Helper()
	if err := c.WaitServiceReady(ctx, ns, name, rev); err != nil {
		t.Fatal(err)
	}
}
