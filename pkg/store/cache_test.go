package store

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"
)

// TestDecodeCache: a cached decode equals a fresh parse of the same
// annotation, callers cannot change the cache through what they get, and a
// changed annotation is parsed again.
func TestDecodeCache(t *testing.T) {
	s := New(fake.NewSimpleClientset().ServingV1())
	spec, st := newState(3, 2, 4)
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Annotations: map[string]string{}}}
	if _, _, err := s.encode(svc, &spec, st, []string{hashKey("a"), hashKey("b")}, "x", nil); err != nil {
		t.Fatal(err)
	}
	fresh, err := New(fake.NewSimpleClientset().ServingV1()).decode(svc)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.decode(svc) // parses and caches
	if err != nil {
		t.Fatal(err)
	}
	first.State.Data[0][0].Counts[0] = -1 // a careless caller
	first.seen[0] = "tampered"
	second, err := s.decode(svc) // from the cache
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*fresh.State, *second.State); diff != "" {
		t.Errorf("cached state differs from a fresh parse (-fresh +cached):\n%s", diff)
	}
	if diff := cmp.Diff(fresh.seen, second.seen); diff != "" {
		t.Errorf("cached dedupe window differs:\n%s", diff)
	}

	var raw map[string]any
	_ = json.Unmarshal([]byte(svc.Annotations[AnnotationState]), &raw)
	raw["iteration"] = 41.0
	b, _ := json.Marshal(raw)
	svc.Annotations[AnnotationState] = string(b)
	third, err := s.decode(svc)
	if err != nil {
		t.Fatal(err)
	}
	if third.State.Iteration != 41 {
		t.Errorf("a changed annotation was served from the cache: iteration %d", third.State.Iteration)
	}
}
