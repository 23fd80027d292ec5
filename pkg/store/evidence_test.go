package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

// TestEvidenceFitsBudget: the reward e-processes of the most versions a
// spec allows, after many windows, fit in the annotation budget beside
// their data, and a fresh process decodes exactly the state written.
func TestEvidenceFitsBudget(t *testing.T) {
	spec := events.ExperimentSpec{
		Kind: events.KindABN, Baseline: "v0",
		Metrics: []events.MetricSpec{{Name: "conversion", Type: events.MetricRatio}},
		Reward:  &events.Reward{Metric: "conversion", Direction: events.DirectionMaximize},
	}
	for v := 1; v < events.MaxVersions; v++ {
		spec.Candidates = append(spec.Candidates, fmt.Sprintf("v%d", v))
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, _, err := experiment.New().Start(spec, "e", t0)
	if err != nil {
		t.Fatal(err)
	}
	eng := experiment.New(experiment.WithDraws(200))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 30 {
		obs := events.MetricsObserved{Window: events.Window{
			Start: events.Time{Time: t0.Add(time.Duration(i) * time.Minute)},
			End:   events.Time{Time: t0.Add(time.Duration(i+1) * time.Minute)},
		}}
		for _, v := range spec.Versions() {
			n := int64(50 + rng.IntN(100))
			obs.Set(v, "conversion", events.Ratio(int64(rng.IntN(int(n/5))), n))
		}
		next, _, err := eng.Observe(spec, st, obs, obs.Window.End.Time)
		if err != nil {
			t.Fatal(err)
		}
		if next.Phase != experiment.PhaseRunning {
			break
		}
		st = next
	}
	if st.Evidence == nil || len(st.Evidence.Ratio) == 0 {
		t.Fatalf("no evidence kept: %+v", st.Evidence)
	}
	s := New(fake.NewSimpleClientset().ServingV1())
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Annotations: map[string]string{}}}
	d := spec.Defaulted()
	if _, _, err := s.encode(svc, &d, st, nil, "status", nil); err != nil {
		t.Fatalf("encode: %v", err)
	}
	n := 0
	for _, a := range svc.Annotations {
		n += len(a)
	}
	t.Logf("%d versions: annotations %d bytes of %d", events.MaxVersions, n, Budget)
	rec, err := New(fake.NewSimpleClientset().ServingV1()).decode(svc)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if diff := cmp.Diff(st.Evidence, rec.State.Evidence); diff != "" {
		t.Errorf("evidence after a round trip (-written +read):\n%s", diff)
	}
}
