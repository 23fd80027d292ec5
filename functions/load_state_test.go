package functions

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// loadNeverDecides is a performance experiment with a load block that no
// test reaches minSamples of: every tick sends a burst and folds it in.
const loadNeverDecides = `{"kind":"performance","baseline":"shop-v1",
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.5}],
 "limits":{"minSamples":100000000,"maxSamples":1000000000},"load":{"rate":10}}`

// loadReplicas are n replicas (newReplicas) over default/shop with its
// shop-v1 tagged and the tag's URL in the Route's status, each with a
// fakeLoader on the replicas' clock (shared, so that it counts every burst
// sent), and the Service's annotations from annotations when given.
func loadReplicas(t *testing.T, n int, annotations map[string]string) (*replicas, *fakeLoader) {
	t.Helper()
	svc := service("shop", true)
	svc.Spec.Traffic = []servingv1.TrafficTarget{{Tag: "v1", RevisionName: "shop-v1", Percent: ptr.Int64(100)}}
	u, _ := apis.ParseURL("http://v1-shop.default.svc.cluster.local")
	svc.Status.Traffic = []servingv1.TrafficTarget{{Tag: "v1", RevisionName: "shop-v1", URL: u}}
	if annotations != nil {
		svc.Annotations = annotations
		svc.Labels[store.LabelPhase] = "running"
	}
	r := newReplicas(n, []runtime.Object{svc, revision("shop", "shop-v1")}...)
	fl := &fakeLoader{now: &r.now}
	for _, h := range r.hs {
		h.load = fl
	}
	return r, fl
}

// sent is how many bursts fl has sent.
func (f *fakeLoader) sent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.targets)
}

// maxLoadState bounds the state annotation of a load experiment (one
// metric, one version) after 100 bursts: it weighs 2,768 bytes, and
// weighed 1,200 bytes more (3,968) when each burst recorded a dedupe key.
const maxLoadState = 3 << 10

// TestLoadStateStaysSmall: an experiment with a load block keeps no dedupe
// key but its start's, so that after 100 ticks, each delivered to three
// replicas at once and once more later, its state is under maxLoadState,
// with every tick's burst counted once.
func TestLoadStateStaysSmall(t *testing.T) {
	r, _ := loadReplicas(t, 3, nil)
	r.all(t, event(t, events.TypeExperimentStart, "/test", "start", loadNeverDecides))
	st, _, _ := r.stored(t, "default", "shop")
	for k := 1; k <= 100; k++ {
		r.tickTwice(t, st.ID, k)
	}
	got, dedupe, size := r.stored(t, "default", "shop")
	t.Logf("after 100 bursts: state annotation %d bytes, %d of them dedupe keys", size, len(dedupe))
	if got.Iteration != 100 || got.Load.Bursts != 100 || got.Data[0][0].Trials != 100*100 {
		t.Errorf("%d iterations, %d bursts, %v trials; want 100 bursts of 100 requests, each once", got.Iteration, got.Load.Bursts, got.Data[0][0].Trials)
	}
	if len(dedupe) != 12 {
		t.Errorf("%d bytes of dedupe keys, want the start's 12 alone", len(dedupe))
	}
	if size > maxLoadState {
		t.Errorf("state annotation of %d bytes, want at most %d", size, maxLoadState)
	}
}

// TestLoadCollectEventCountsOnce: a collect event of a load experiment
// delivered to three replicas at once, again later, and under another id
// for the same tick (a doubled tick) folds one burst in: the replicas
// that read the state before the first burst was written may each send
// one (their windows overlap; the collector's mark counts the first
// written), the later deliveries send none.
func TestLoadCollectEventCountsOnce(t *testing.T) {
	r, fl := loadReplicas(t, 3, nil)
	r.all(t, event(t, events.TypeExperimentStart, "/test", "start", loadNeverDecides))
	st, _, _ := r.stored(t, "default", "shop")
	tick := t0.Add(time.Minute)
	r.now = tick.Add(time.Second)
	r.all(t, collectEvent(t, "default", st.ID, tick, ""))
	first := fl.sent()
	r.now = tick.Add(time.Minute)
	for _, e := range []cloudevents.Event{collectEvent(t, "default", st.ID, tick, ""), collectEvent(t, "default", st.ID, tick, "other-tick")} {
		r.all(t, e)
	}
	got, dedupe, _ := r.stored(t, "default", "shop")
	if got.Iteration != 1 || got.Load.Bursts != 1 || got.Data[0][0].Trials != 100 || len(dedupe) != 12 {
		t.Errorf("%d iterations, %d bursts, %v trials, %d bytes of keys; want one burst of 100 once and the start's key alone",
			got.Iteration, got.Load.Bursts, got.Data[0][0].Trials, len(dedupe))
	}
	if first < 1 || first > 3 || fl.sent() != first {
		t.Errorf("%d bursts sent at once, %d in all; want 1 to 3, and none for the later deliveries", first, fl.sent())
	}
}

// TestPreviousVersionLoadState: a load experiment's Service as the
// previous version left it (testdata/previous-version-load-service.json,
// two bursts), whose dedupe keys include its bursts', is read and goes
// on: the old keys stay, the collect event of its last tick sends no
// burst and counts nothing, and the next tick's burst counts once and
// adds no key.
func TestPreviousVersionLoadState(t *testing.T) {
	raw, err := os.ReadFile("testdata/previous-version-load-service.json")
	if err != nil {
		t.Fatal(err)
	}
	var annotations map[string]string
	if err := json.Unmarshal(raw, &annotations); err != nil {
		t.Fatal(err)
	}
	r, fl := loadReplicas(t, 1, annotations)
	before, oldKeys, _ := r.stored(t, "default", "shop")
	if before.Iteration != 2 || before.Load.Bursts != 2 || len(oldKeys) != 3*12 {
		t.Fatalf("previous state: %d iterations, %d bursts, %d bytes of keys; want 2, 2 and 3 keys (the start's and two bursts')",
			before.Iteration, before.Load.Bursts, len(oldKeys))
	}
	last := before.Load.Tick.Time
	r.now = last.Add(time.Minute)
	r.all(t, collectEvent(t, "default", before.ID, last, ""))
	if again, keys, _ := r.stored(t, "default", "shop"); again.Iteration != 2 || again.Load.Bursts != 2 || keys != oldKeys || fl.sent() != 0 {
		t.Errorf("the last tick again: %d iterations, %d bursts, keys %q, %d bursts sent; want 2, 2, %q and none",
			again.Iteration, again.Load.Bursts, keys, fl.sent(), oldKeys)
	}
	r.all(t, collectEvent(t, "default", before.ID, last.Add(time.Minute), ""))
	after, keys, _ := r.stored(t, "default", "shop")
	if after.Iteration != 3 || after.Load.Bursts != 3 || after.Data[0][0].Trials != before.Data[0][0].Trials+100 || keys != oldKeys {
		t.Errorf("the next tick: %d iterations, %d bursts, %v trials, keys %q; want 3, 3, %v and the old keys %q",
			after.Iteration, after.Load.Bursts, after.Data[0][0].Trials, keys, before.Data[0][0].Trials+100, oldKeys)
	}
}
