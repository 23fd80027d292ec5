package reliability

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// TestServiceDeletedMidExperiment deletes the Service under a running
// experiment: the next window gets a permanent 422 naming the Service, and
// the server goes on serving other Services.
func TestServiceDeletedMidExperiment(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	e := newEnv(ctx, t, "v1", "v2")
	if err := e.c.DeployRevisions(ctx, e.ns, "other", "registry.example.com/iter8/other@sha256:"+strings.Repeat("ab", 32), "v1", "v2"); err != nil {
		t.Fatal(err)
	}
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))
	e.start(ctx, t, "other", longCanary("other-v1", "other-v2"))
	subject := e.subject("shop")
	if r, _, err := e.client.Deliver(ctx, window(t, subject, "w-0", 0, "shop-v1", "shop-v2", 100, 10, 0)); err != nil || r.Status != http.StatusOK {
		t.Fatalf("window before the deletion: %v %+v", err, r)
	}
	if err := e.sv.ServingV1().Services(e.ns).Delete(ctx, "shop", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The Service may linger while a finalizer runs; wait until it is gone.
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := e.sv.ServingV1().Services(e.ns).Get(ctx, "shop", metav1.GetOptions{})
		return err != nil, nil
	})
	if err != nil {
		t.Fatalf("the Service did not go: %v", err)
	}
	for i, ev := range []struct {
		typ, data string
	}{
		{events.TypeMetricsObserved, ""},
		{events.TypeExperimentControl, `{"action":"pause"}`},
		{events.TypeExperimentStart, longCanary("shop-v1", "shop-v2")},
	} {
		var d = window(t, subject, "w-1", 1, "shop-v1", "shop-v2", 100, 10, 0)
		if ev.data != "" {
			d.Type, d.Data, d.ID = ev.typ, []byte(ev.data), "after-"+ev.typ
		}
		r, a, err := e.client.Deliver(ctx, d)
		if err != nil || r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, e.ns+"/shop") {
			t.Errorf("%d %s after the deletion: %v; answer %d %s, want a permanent 422 naming %s/shop", i, ev.typ, err, r.Status, r.Body, e.ns)
		}
		if a.N != 1 {
			t.Errorf("%s: answered after %d attempts %v, want a permanent answer at once", ev.typ, a.N, a.Statuses)
		}
	}
	if resp, err := http.Get(e.fn.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the deletion: %v %v", err, resp)
	}
	if r, _, err := e.client.Deliver(ctx, window(t, e.subject("other"), "o-0", 0, "other-v1", "other-v2", 100, 10, 0)); err != nil || r.Status != http.StatusOK {
		t.Errorf("another Service's window: %v %+v", err, r)
	}
	if strings.Contains(e.fn.Log(), "panic") {
		t.Errorf("the functions logged a panic:\n%s", lastLines(e.fn.Log(), 20))
	}
}

// TestRevisionDeletedMidExperiment deletes the candidate's Revision under a
// running canary, with the real Knative controller: the Route reports
// RoutesReady=False, the next window gets a permanent 422 naming the
// revision, the experiment is Failed, and traffic goes back to the baseline
// in spec.traffic and then in the Route's status.
func TestRevisionDeletedMidExperiment(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	// v3 is the latest revision: deleting v2, which is not, keeps the
	// Configuration from re-creating it.
	e := newEnv(ctx, t, "v1", "v2", "v3")
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))
	subject := e.subject("shop")
	if r, _, err := e.client.Deliver(ctx, window(t, subject, "w-0", 0, "shop-v1", "shop-v2", 100, 10, 0)); err != nil || r.Status != http.StatusOK {
		t.Fatalf("window before the deletion: %v %+v", err, r)
	}
	// The canary ramp may already have stepped past its initial 10%: wait
	// for whatever split the state holds, as long as shop-v2 serves.
	before := e.record(ctx, t, "shop").State.Traffic
	if before["shop-v2"] == 0 {
		t.Fatalf("split %v before the deletion: shop-v2 must serve", before)
	}
	if err := e.c.WaitServiceTraffic(ctx, e.ns, "shop", before); err != nil {
		t.Fatal(err)
	}
	if err := e.sv.ServingV1().Revisions(e.ns).Delete(ctx, "shop-v2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var cond string
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s := e.service(ctx, t, "shop")
		c := s.Status.GetCondition(servingv1.ServiceConditionRoutesReady)
		if c != nil {
			cond = string(c.Status) + " " + c.Reason + ": " + c.Message
		}
		return c != nil && c.Status == corev1.ConditionFalse && s.Status.ObservedGeneration == s.Generation, nil
	})
	if err != nil {
		t.Fatalf("the Route never reported the missing revision: %v (last RoutesReady: %s)", err, cond)
	}
	t.Logf("RoutesReady: %s", cond)

	r, a, err := e.client.Deliver(ctx, window(t, subject, "w-1", 1, "shop-v1", "shop-v2", 100, 10, 0))
	if err != nil || r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "shop-v2") || a.N != 1 {
		t.Fatalf("window after the deletion: %v; answer %d %s after %d attempts, want a permanent 422 naming shop-v2", err, r.Status, r.Body, a.N)
	}
	t.Logf("answer: %d %s", r.Status, strings.TrimSpace(r.Body))
	if !strings.Contains(r.Body, "traffic went to shop-v1") {
		t.Errorf("the answer does not say where traffic went: %s", r.Body)
	}
	rec := e.record(ctx, t, "shop")
	if rec.State.Phase != experiment.PhaseFailed || !strings.Contains(rec.State.Reason, "shop-v2") {
		t.Errorf("phase %s (%s), want Failed naming shop-v2", rec.State.Phase, rec.State.Reason)
	}
	if err := consistent(rec); err != nil {
		t.Error(err)
	}
	if d := cmp.Diff(map[string]int{"shop-v1": 100}, store.Split(rec.Service)); d != "" {
		t.Errorf("spec.traffic (-want +got):\n%s", d)
	}
	if err := e.c.WaitServiceTraffic(ctx, e.ns, "shop", map[string]int{"shop-v1": 100}); err != nil {
		t.Error(err)
	}
	// The failed experiment takes no more windows, permanently.
	r, _, err = e.client.Deliver(ctx, window(t, subject, "w-2", 2, "shop-v1", "shop-v2", 100, 10, 0))
	if err != nil || r.Status != http.StatusUnprocessableEntity {
		t.Errorf("window after the failure: %v; answer %d %s, want 422", err, r.Status, r.Body)
	}
}
