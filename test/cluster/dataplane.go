package cluster

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	netv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"
	netclient "knative.dev/networking/pkg/client/clientset/versioned"
	"knative.dev/pkg/ptr"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"
)

// dataPlane stands in for what a real cluster's kubelet, autoscaler and
// ingress would report: it marks every Revision Deployment available, every
// PodAutoscaler active at one replica and every KIngress load-balanced, by
// writing their status subresources. Polling keeps it simple and independent
// of informer caches; it only runs in tests and the demo.
type dataPlane struct {
	// eventing also marks Knative Eventing's own Deployments available;
	// their work is done by host processes.
	eventing bool
	kube     kubernetes.Interface
	serving  servingclient.Interface
	net      netclient.Interface
}

func newDataPlane(cfg *rest.Config) (*dataPlane, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	sv, err := servingclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	nc, err := netclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	return &dataPlane{kube: kube, serving: sv, net: nc}, nil
}

// passTimeout bounds one pass's requests, so that a stop waits for at
// most one pass even when the apiserver has stopped answering.
const passTimeout = 10 * time.Second

// run marks what needs marking every 150 ms until ctx is done. A stop ends
// the loop between passes and never cuts a pass's request short: client-go
// logs a body read cut by its context as an error ("Unexpected error when
// reading response body ... context canceled"), and the stand-in is
// stopped while it is polling, so each stop of the demo could end on an
// error line (TestDataPlaneStopLetsAPassFinish).
func (d *dataPlane) run(ctx context.Context) {
	t := time.NewTicker(150 * time.Millisecond)
	defer t.Stop()
	for {
		pass, cancel := context.WithTimeout(context.WithoutCancel(ctx), passTimeout)
		d.deployments(pass)
		d.autoscalers(pass)
		d.ingresses(pass)
		cancel()
		if ctx.Err() != nil {
			// Before the select, which could pick a tick that is due too.
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *dataPlane) deployments(ctx context.Context) {
	d.markAvailable(ctx, "", "serving.knative.dev/revision")
	if d.eventing {
		d.markAvailable(ctx, eventingNamespace, "")
	}
}

func (d *dataPlane) markAvailable(ctx context.Context, ns, selector string) {
	list, err := d.kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return
	}
	for i := range list.Items {
		dep := &list.Items[i]
		if dep.Status.ObservedGeneration == dep.Generation && dep.Status.AvailableReplicas > 0 {
			continue
		}
		now := metav1.Now()
		dep.Status = appsv1.DeploymentStatus{
			ObservedGeneration: dep.Generation,
			Replicas:           1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now},
			},
		}
		_, _ = d.kube.AppsV1().Deployments(dep.Namespace).UpdateStatus(ctx, dep, metav1.UpdateOptions{})
	}
}

func (d *dataPlane) autoscalers(ctx context.Context) {
	list, err := d.serving.AutoscalingV1alpha1().PodAutoscalers("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for i := range list.Items {
		pa := &list.Items[i]
		if pa.IsReady() && pa.Status.ObservedGeneration == pa.Generation && pa.Status.ServiceName != "" {
			continue
		}
		pa.Status.InitializeConditions()
		pa.Status.MarkSKSReady()
		pa.Status.MarkScaleTargetInitialized()
		pa.Status.MarkActive()
		pa.Status.ServiceName = pa.Name
		pa.Status.MetricsServiceName = pa.Name + "-private"
		pa.Status.DesiredScale = ptr.Int32(1)
		pa.Status.ActualScale = ptr.Int32(1)
		pa.Status.ObservedGeneration = pa.Generation
		_, _ = d.serving.AutoscalingV1alpha1().PodAutoscalers(pa.Namespace).UpdateStatus(ctx, pa, metav1.UpdateOptions{})
	}
}

func (d *dataPlane) ingresses(ctx context.Context) {
	list, err := d.net.NetworkingV1alpha1().Ingresses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for i := range list.Items {
		ing := &list.Items[i]
		if ing.IsReady() {
			continue
		}
		lb := []netv1alpha1.LoadBalancerIngressStatus{{DomainInternal: "local-gateway.iter8-system.svc.cluster.local"}}
		ing.Status.InitializeConditions()
		ing.Status.MarkNetworkConfigured()
		ing.Status.MarkLoadBalancerReady(lb, lb)
		ing.Status.ObservedGeneration = ing.Generation
		_, _ = d.net.NetworkingV1alpha1().Ingresses(ing.Namespace).UpdateStatus(ctx, ing, metav1.UpdateOptions{})
	}
}
