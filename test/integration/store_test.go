package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// bareService creates a Service with no controller involvement needed.
// shopService creates the bare Service "shop" in a fresh namespace of the
// shared cluster, and a context that ends after timeout or with the test.
func shopService(t *testing.T, timeout time.Duration) (context.Context, *cluster.Cluster, string, servingclient.Interface) {
	t.Helper()
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	sv := servingclient.NewForConfigOrDie(c.Config)
	bareService(ctx, t, sv, ns, "shop")
	return ctx, c, ns, sv
}

func bareService(ctx context.Context, t testing.TB, sv servingclient.Interface, ns, name string) {
	t.Helper()
	svc := &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{store.LabelEnabled: "true"}},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}},
		}}},
	}
	if _, err := sv.ServingV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
}

// counterSpec is a minimal valid spec for store tests.
func counterSpec() events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "shop-v1", Candidates: []string{"shop-v2"},
		Metrics:    []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: ptrTo(0.01)}},
	}.Defaulted()
}

func ptrTo[T any](v T) *T { return &v }

// addTrials is a store Mutation that adds n trials to version 0, metric 0:
// a stand-in for folding in one observation, whose exact total the test
// can check.
func addTrials(n float64) store.Mutation {
	return func(r store.Record) (*store.Change, error) {
		spec := counterSpec()
		var st experiment.State
		if r.State != nil {
			st = *r.State
		} else {
			st = experiment.State{Schema: experiment.SchemaVersion, ID: "e1", Phase: experiment.PhaseRunning,
				Versions: []string{"shop-v1", "shop-v2"}, Data: [][]stats.Data{{{}}, {{}}}}
		}
		st.Data = [][]stats.Data{{st.Data[0][0]}, {st.Data[1][0]}}
		st.Data[0][0].Trials += n
		st.Iteration++
		return &store.Change{Spec: &spec, State: st, Status: fmt.Sprintf("iteration %d", st.Iteration)}, nil
	}
}

// TestStoreConcurrentDuplicatesCountedOnce sends 50 distinct events and a
// duplicate of each, all at once, through 4 Stores (as 4 function replicas
// would, each with its own in-process lock, so that they really conflict on
// the API server). Every distinct event must count exactly once.
func TestStoreConcurrentDuplicatesCountedOnce(t *testing.T) {
	ctx, c, ns, _ := shopService(t, 2*time.Minute)

	replicas := make([]*store.Store, 4)
	for i := range replicas {
		replicas[i] = store.New(servingclient.NewForConfigOrDie(c.Config).ServingV1())
	}
	type delivery struct {
		key string
		n   float64
	}
	var deliveries []delivery
	want := 0.0
	for i := range 50 {
		n := float64(i + 1)
		want += n
		key := fmt.Sprintf("test/source e-%d", i)
		deliveries = append(deliveries, delivery{key, n}, delivery{key, n})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

	var wg sync.WaitGroup
	var mu sync.Mutex
	dups, conflicts := 0, 0
	for i, d := range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Redeliver on retryable errors, as Knative Eventing would.
			for {
				res, err := replicas[i%len(replicas)].Update(ctx, ns, "shop", d.key, addTrials(d.n))
				if err != nil && events.IsPermanent(err) {
					t.Errorf("delivery %s: %v", d.key, err)
					return
				}
				if err == nil {
					mu.Lock()
					conflicts += res.Conflicts
					if res.Duplicate {
						dups++
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	r, err := replicas[0].Get(ctx, ns, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.State.Data[0][0].Trials; got != want {
		t.Errorf("trials = %v, want %v (each of 50 events exactly once)", got, want)
	}
	if r.State.Iteration != 50 {
		t.Errorf("iteration = %d, want 50", r.State.Iteration)
	}
	if dups != 50 {
		t.Errorf("duplicates recognised = %d, want 50", dups)
	}
	t.Logf("50 events + 50 duplicates over 4 replicas: %d conflicts retried", conflicts)
}

// TestStoreStaleWriteRetried makes another writer change the Service between
// our read and our write: the write conflicts and is re-applied on the
// fresh object, losing neither change.
func TestStoreStaleWriteRetried(t *testing.T) {
	ctx, _, ns, sv := shopService(t, time.Minute)
	s := store.New(sv.ServingV1())

	calls := 0
	res, err := s.Update(ctx, ns, "shop", "k1", func(r store.Record) (*store.Change, error) {
		calls++
		if calls == 1 {
			// Someone else writes in between.
			err := cluster.UpdateService(ctx, sv.ServingV1().Services(ns), "shop", func(cur *servingv1.Service) {
				cur.Annotations = map[string]string{"team": "checkout"}
			})
			if err != nil {
				return nil, err
			}
		}
		return addTrials(7)(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The Knative controller may write the Service's status too, so there
	// can be more than the one conflict we caused.
	if res.Conflicts < 1 || calls != res.Conflicts+1 {
		t.Errorf("conflicts = %d, mutation calls = %d; want at least 1 conflict, each re-applied", res.Conflicts, calls)
	}
	got, err := sv.ServingV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Annotations["team"] != "checkout" {
		t.Errorf("the other writer's annotation was lost: %v", got.Annotations)
	}
	r, _ := s.Get(ctx, ns, "shop")
	if r.State.Data[0][0].Trials != 7 {
		t.Errorf("trials = %v, want 7", r.State.Data[0][0].Trials)
	}
}

// TestStoreInvalidTrafficNeverWritten asks for a split that sums to 130:
// Knative's validation refuses it before any write, and the Service keeps
// its traffic and annotations.
func TestStoreInvalidTrafficNeverWritten(t *testing.T) {
	ctx, _, ns, sv := shopService(t, time.Minute)
	before, _ := sv.ServingV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
	s := store.New(sv.ServingV1())
	_, err := s.Update(ctx, ns, "shop", "k", func(r store.Record) (*store.Change, error) {
		ch, err := addTrials(1)(r)
		if err == nil {
			ch.Traffic = map[string]int{"shop-v1": 60, "shop-v2": 70}
		}
		return ch, err
	})
	if err == nil || events.StatusOf(err) != http.StatusUnprocessableEntity {
		t.Fatalf("err = %v (status %d), want a permanent 422", err, events.StatusOf(err))
	}
	after, _ := sv.ServingV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the Service was written (resourceVersion %s -> %s)", before.ResourceVersion, after.ResourceVersion)
	}
}

// TestStoreDeletedServiceIsPermanent: a Service that is gone gives a clear
// permanent error, not a panic or a retry loop.
func TestStoreDeletedServiceIsPermanent(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sv := servingclient.NewForConfigOrDie(c.Config)
	s := store.New(sv.ServingV1())
	_, err := s.Update(ctx, ns, "gone", "k", addTrials(1))
	if !events.IsPermanent(err) || events.StatusOf(err) != http.StatusUnprocessableEntity {
		t.Fatalf("err = %v, want permanent 422", err)
	}
	if want := "service " + ns + "/gone"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	err = s.CheckRevisions(ctx, ns, "gone", []string{"gone-v1"})
	if !events.IsPermanent(err) {
		t.Fatalf("CheckRevisions on a missing revision: %v, want permanent", err)
	}
}

// TestStoreTrafficFollowedByKnative writes a split through the store with the
// real Serving controller running, and sees status.traffic follow, tags
// included.
func TestStoreTrafficFollowedByKnative(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sv := servingclient.NewForConfigOrDie(c.Config)
	if err := c.DeployRevisions(ctx, ns, "shop", image, "v1", "v2"); err != nil {
		t.Fatal(err)
	}
	s := store.New(sv.ServingV1())
	if err := s.CheckRevisions(ctx, ns, "shop", []string{"shop-v1", "shop-v2"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Update(ctx, ns, "shop", "k", func(r store.Record) (*store.Change, error) {
		ch, err := addTrials(1)(r)
		if err == nil {
			ch.Traffic = map[string]int{"shop-v1": 25, "shop-v2": 75}
			ch.State.Versions = []string{"shop-v1", "shop-v2"}
		}
		return ch, err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"shop-v1": "v1:25", "shop-v2": "v2:75"}
	var got map[string]string
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		svc, err := sv.ServingV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = map[string]string{}
		for _, tt := range svc.Status.Traffic {
			got[tt.RevisionName] = fmt.Sprintf("%s:%d", tt.Tag, *tt.Percent)
		}
		return svc.Status.ObservedGeneration == svc.Generation && cmp.Equal(got, want), nil
	})
	if err != nil {
		t.Fatalf("status.traffic did not follow: %v (-want +got):\n%s", err, cmp.Diff(want, got))
	}
}
