package store

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
)

func TestTag(t *testing.T) {
	for _, tc := range []struct{ svc, rev, want string }{
		{"shop", "shop-v2", "v2"},
		{"shop", "shop-00001", "shop-00001"}, // "00001" is not a DNS-1035 label
		{"shop", "checkout-v1", "checkout-v1"},
		{"shop", "shop-", "shop-"},
	} {
		if got := Tag(tc.svc, tc.rev); got != tc.want {
			t.Errorf("Tag(%q, %q) = %q, want %q", tc.svc, tc.rev, got, tc.want)
		}
	}
}

func TestTargets(t *testing.T) {
	got, err := Targets("shop", []string{"shop-v1", "shop-v2", "shop-v3"}, map[string]int{"shop-v3": 0, "shop-v2": 70, "shop-v1": 30})
	if err != nil {
		t.Fatal(err)
	}
	want := []servingv1.TrafficTarget{
		{Tag: "v1", RevisionName: "shop-v1", Percent: ptr.Int64(30), LatestRevision: ptr.Bool(false)},
		{Tag: "v2", RevisionName: "shop-v2", Percent: ptr.Int64(70), LatestRevision: ptr.Bool(false)},
		{Tag: "v3", RevisionName: "shop-v3", Percent: ptr.Int64(0), LatestRevision: ptr.Bool(false)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []map[string]int{
		{"shop-v1": 60, "shop-v2": 70},
		{"shop-v1": -10, "shop-v2": 110},
		{"Shop_V1": 100},
	} {
		if _, err := Targets("shop", nil, bad); err == nil {
			t.Errorf("Targets(%v) accepted an invalid split", bad)
		}
	}
}

func TestSplit(t *testing.T) {
	svc := &servingv1.Service{}
	svc.Status.LatestReadyRevisionName = "shop-v2"
	svc.Status.LatestCreatedRevisionName = "shop-v2"
	if diff := cmp.Diff(map[string]int{"shop-v2": 100}, Split(svc)); diff != "" {
		t.Errorf("no traffic block: %s", diff)
	}
	svc.Spec.Traffic = []servingv1.TrafficTarget{
		{RevisionName: "shop-v1", Percent: ptr.Int64(40)},
		{LatestRevision: ptr.Bool(true), Percent: ptr.Int64(60)},
	}
	if diff := cmp.Diff(map[string]int{"shop-v1": 40, "shop-v2": 60}, Split(svc)); diff != "" {
		t.Errorf("latest revision: %s", diff)
	}
}

func TestHashKey(t *testing.T) {
	a, b := hashKey("src id-1"), hashKey("src id-2")
	if len(a) != 12 || a == b || hashKey("src id-1") != a || hashKey("") != "" {
		t.Errorf("hashKey: %q %q", a, b)
	}
}

func newState(versions, metrics, buckets int) (events.ExperimentSpec, experiment.State) {
	spec := events.ExperimentSpec{Kind: events.KindABN, Baseline: "v0"}
	st := experiment.State{Schema: experiment.SchemaVersion, ID: "e", Phase: experiment.PhaseRunning}
	for v := 0; v < versions; v++ {
		name := fmt.Sprintf("v%d", v)
		st.Versions = append(st.Versions, name)
		if v > 0 {
			spec.Candidates = append(spec.Candidates, name)
		}
		row := make([]stats.Data, metrics)
		for m := range row {
			row[m] = stats.Data{Bounds: make([]float64, buckets), Counts: make([]float64, buckets+1)}
			for b := range row[m].Bounds {
				row[m].Bounds[b] = float64(b+1) * 12.5
				row[m].Counts[b] = 123456
			}
		}
		st.Data = append(st.Data, row)
	}
	for m := 0; m < metrics; m++ {
		spec.Metrics = append(spec.Metrics, events.MetricSpec{Name: fmt.Sprintf("m%d", m), Type: events.MetricQuantile, Quantile: 0.95})
	}
	return spec, st
}

// TestBudget: a state that cannot fit even compacted is refused with a clear
// permanent error before any write; one that fits after dropping old dedupe
// keys is written.
func TestBudget(t *testing.T) {
	s := New(fake.NewSimpleClientset().ServingV1(), WithDedupeWindow(4096))
	spec, st := newState(10, 20, 256)
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Annotations: map[string]string{}}}
	_, _, err := s.encode(svc, &spec, st, nil, "status", nil)
	if err == nil || events.StatusOf(err) != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("oversized state: err = %v, want a permanent 422 naming the budget", err)
	}
	if _, ok := svc.Annotations[AnnotationState]; ok {
		t.Errorf("an oversized state was written into the annotations")
	}

	spec, st = newState(3, 3, 20)
	seen := make([]string, 4096)
	for i := range seen {
		seen[i] = hashKey(fmt.Sprint(i))
	}
	if _, _, err := s.encode(svc, &spec, st, seen, "status", nil); err != nil {
		t.Fatalf("compactable state: %v", err)
	}
	if n := len(svc.Annotations[AnnotationState]); n > Budget {
		t.Errorf("state annotation is %d bytes, over the %d budget", n, Budget)
	}
}

// TestUpdateDuplicate: an event key already applied is a no-op that reports
// a duplicate.
func TestUpdateDuplicate(t *testing.T) {
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"}}
	cs := fake.NewSimpleClientset(svc)
	s := New(cs.ServingV1())
	spec, st := newState(2, 1, 0)
	calls := 0
	m := func(Record) (*Change, error) {
		calls++
		st.Iteration++
		return &Change{Spec: &spec, State: st, Status: "x"}, nil
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		res, err := s.Update(ctx, "default", "shop", "src id", m)
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicate != (i > 0) {
			t.Errorf("delivery %d: duplicate = %v", i, res.Duplicate)
		}
	}
	if calls != 1 {
		t.Errorf("mutation ran %d times for one distinct event", calls)
	}
	r, err := s.Get(ctx, "default", "shop")
	if err != nil || r.State.Iteration != 1 || r.Service.Labels[LabelPhase] != "running" {
		t.Errorf("record after: %+v, %v", r.State, err)
	}
}

// TestDefaultBackoffRetriesEveryStep guards against wait.Backoff's Cap,
// which silently ends the retries once a step would pass it.
func TestDefaultBackoffRetriesEveryStep(t *testing.T) {
	b := DefaultBackoff
	b.Jitter = 0
	steps, total := 0, time.Duration(0)
	for b.Steps > 0 {
		total += b.Step()
		steps++
	}
	if steps != DefaultBackoff.Steps {
		t.Errorf("%d retries, want %d", steps, DefaultBackoff.Steps)
	}
	if total > 20*time.Second {
		t.Errorf("the retries wait %s in all, longer than a delivery timeout", total)
	}
}
