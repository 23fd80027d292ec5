package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// Image is the sample Service's image, by digest so that nothing resolves a
// tag.
const Image = "registry.example.com/iter8/shop@sha256:5f0c7ca1f4a4d5a1e7f8f1e1c6e2b1d8a9f3e2c1b0a9d8c7b6a5f4e3d2c1b0a9"

// BareService creates an opted-in Service and, for each revision name, a
// Revision object labelled as the Service's, as the Knative controller
// would. With no controller running nothing reconciles them: a Revision
// without status counts as deployed (see store.CheckRevisions), which is all
// the functions need. Use it on a control plane without Knative.
func BareService(ctx context.Context, sv servingclient.Interface, ns, name string, revisions ...string) error {
	svc := &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{store.LabelEnabled: "true"}},
	}
	svc.Spec.Template.Spec.Containers = []corev1.Container{{Image: Image}}
	if _, err := sv.ServingV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("service %s/%s: %w", ns, name, err)
	}
	for _, r := range revisions {
		rev := &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{Name: r, Namespace: ns,
			Labels: map[string]string{serving.ServiceLabelKey: name, serving.ConfigurationLabelKey: name}}}
		rev.Spec.Containers = []corev1.Container{{Image: Image}}
		if _, err := sv.ServingV1().Revisions(ns).Create(ctx, rev, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("service %s/%s: revision %s: %w", ns, name, r, err)
		}
	}
	return nil
}

// T0 is the start of the first window of every test: a fixed instant, so
// that windows are reproducible.
var T0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// RatioWindow is window i (one minute, starting T0 + i minutes) with one
// ratio metric per version: trials[v] trials of which successes[v]
// succeeded.
func RatioWindow(i int, metric string, trials, successes map[string]int64) events.MetricsObserved {
	start := T0.Add(time.Duration(i) * time.Minute)
	m := events.NewMetricsObserved(start, start.Add(time.Minute))
	for v, n := range trials {
		m.Set(v, metric, events.Ratio(successes[v], n))
	}
	return m
}

// Raw is the state annotation as stored, with the dedupe window, which
// store.Record keeps to itself.
type Raw struct {
	Seen []string `json:"seen"`
}

// StateAnnotation returns the raw state annotation and its dedupe window.
func StateAnnotation(svc *servingv1.Service) (string, Raw, error) {
	s, ok := svc.Annotations[store.AnnotationState]
	if !ok {
		return "", Raw{}, fmt.Errorf("service %s/%s: no %s annotation", svc.Namespace, svc.Name, store.AnnotationState)
	}
	var r Raw
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return s, r, fmt.Errorf("service %s/%s: %s: %w", svc.Namespace, svc.Name, store.AnnotationState, err)
	}
	return s, r, nil
}

// AnnotationBytes is the size of iter8's annotations together, the figure
// store.Budget bounds: every annotation under iter8's prefix, its events
// log and past canaries too, not only those the test knows by name.
func AnnotationBytes(svc *servingv1.Service) int {
	n := 0
	for k, v := range svc.Annotations {
		if strings.HasPrefix(k, events.Prefix) {
			n += len(v)
		}
	}
	return n
}
