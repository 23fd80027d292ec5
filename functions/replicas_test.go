package functions

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	k8stesting "k8s.io/client-go/testing"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// neverDecides is a canary that no test reaches minSamples of, without
// maxDuration: every tick has a window to fold in.
const neverDecides = `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.5}],
 "limits":{"minSamples":100000000,"maxSamples":1000000000}}`

// replicas are n Handlers over one fake API server, each with its own
// Store (n processes), all on one clock and each with the counting
// collector. The API server refuses a write of a stale resourceVersion
// with a 409, as kube-apiserver does, so that replicas racing for a
// Service re-read and re-run as they do on a cluster.
type replicas struct {
	cs  *fake.Clientset
	hs  []*Handlers
	now time.Time
}

func newReplicas(n int, objs ...runtime.Object) *replicas {
	r := &replicas{now: t0}
	if len(objs) == 0 {
		objs = []runtime.Object{service("shop", true), revision("shop", "shop-v1"), revision("shop", "shop-v2")}
	}
	r.cs = fake.NewSimpleClientset(objs...)
	gvr := servingv1.SchemeGroupVersion.WithResource("services")
	// The fake runs one reactor at a time, so the check and the write are
	// one step, as in etcd.
	r.cs.PrependReactor("update", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		svc := a.(k8stesting.UpdateAction).GetObject().(*servingv1.Service).DeepCopy()
		cur, err := r.cs.Tracker().Get(gvr, svc.Namespace, svc.Name)
		if err != nil {
			return true, nil, err
		}
		rv := cur.(*servingv1.Service).ResourceVersion
		if svc.ResourceVersion != rv {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), svc.Name, errors.New("stale resourceVersion"))
		}
		v, _ := strconv.Atoi(rv)
		svc.ResourceVersion = strconv.Itoa(v + 1)
		return true, svc, r.cs.Tracker().Update(gvr, svc, svc.Namespace)
	})
	for range n {
		st := store.New(r.cs.ServingV1(), store.WithBackoff(wait.Backoff{Steps: 100, Duration: time.Microsecond}))
		r.hs = append(r.hs, New(st, WithClock(func() time.Time { return r.now }), WithCollector(&countingCollector{}),
			WithEngine(experiment.New(experiment.WithDraws(500))), quiet()))
	}
	return r
}

// all delivers e to every replica at once, as redeliveries racing the
// first delivery do, and fails on any error.
func (r *replicas) all(t *testing.T, e cloudevents.Event) {
	t.Helper()
	errs := make([]error, len(r.hs))
	var wg sync.WaitGroup
	for i, h := range r.hs {
		wg.Go(func() { _, errs[i] = h.Route(context.Background(), e) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%s %s: %v", e.Type(), e.ID(), err)
	}
}

// annotations are iter8's annotations on ns/name, its phase label and its
// traffic, as a fresh process reads them.
func (r *replicas) annotations(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	rec, err := store.New(r.cs.ServingV1()).Get(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"label " + store.LabelPhase: rec.Service.Labels[store.LabelPhase]}
	for k, v := range rec.Service.Annotations {
		if strings.HasPrefix(k, events.Prefix) {
			out[k] = v
		}
	}
	b, _ := json.Marshal(rec.Service.Spec.Traffic)
	out["spec.traffic"] = string(b)
	return out
}

// stored is the state annotation of ns/name: the state and its dedupe keys.
func (r *replicas) stored(t *testing.T, ns, name string) (experiment.State, string, int) {
	t.Helper()
	raw := r.annotations(t, ns, name)[store.AnnotationState]
	var st struct {
		experiment.State
		Dedupe string `json:"dedupe"`
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	return st.State, st.Dedupe, len(raw)
}

// tickTwice delivers the collect event of default/shop's experiment id
// for the k-th minute's tick to every replica at once, a second after the
// tick, then once more to one of them, as a redelivery.
func (r *replicas) tickTwice(t *testing.T, id string, k int) {
	t.Helper()
	tick := t0.Add(time.Duration(k) * time.Minute)
	r.now = tick.Add(time.Second)
	e := collectEvent(t, "default", id, tick, "")
	r.all(t, e)
	if _, err := r.hs[k%len(r.hs)].Route(context.Background(), e); err != nil {
		t.Fatalf("tick %d redelivered: %v", k, err)
	}
}

// event is an event about default/shop from source with id.
func event(t *testing.T, typ, source, id string, data any) cloudevents.Event {
	t.Helper()
	if s, ok := data.(string); ok {
		var spec events.ExperimentSpec
		if err := json.Unmarshal([]byte(s), &spec); err != nil {
			t.Fatal(err)
		}
		data = spec
	}
	e, err := events.New(typ, source, "default/shop", t0, data)
	if err != nil {
		t.Fatal(err)
	}
	e.SetID(id)
	return e
}

// appWindow is an application's window of 5 trials per version over
// [from, from+d).
func appWindow(from time.Time, d time.Duration) events.MetricsObserved {
	w := events.NewMetricsObserved(from, from.Add(d))
	w.Set("shop-v1", "errors", events.Ratio(0, 5))
	w.Set("shop-v2", "errors", events.Ratio(1, 5))
	return w
}

// TestReplicasLeaveTheSameState: the same deliveries leave the same
// Service, byte for byte, on one replica and on three that each take every
// event at the same moment: windows and controls from outside, resent
// under a new id, and collect events of the tick, redelivered.
func TestReplicasLeaveTheSameState(t *testing.T) {
	run := func(n int) map[string]string {
		r := newReplicas(n)
		var id string
		steps := []func() cloudevents.Event{
			func() cloudevents.Event { return event(t, events.TypeExperimentStart, "/test", "start", neverDecides) },
			func() cloudevents.Event {
				return event(t, events.TypeMetricsObserved, "/app", "w1", appWindow(t0, time.Minute))
			},
			func() cloudevents.Event { return collectEvent(t, "default", id, t0.Add(2*time.Minute), "") },
			func() cloudevents.Event {
				return event(t, events.TypeExperimentControl, "/test", "pause", events.Control{Action: events.ActionPause})
			},
			func() cloudevents.Event {
				return event(t, events.TypeMetricsObserved, "/app", "w2", appWindow(t0.Add(time.Minute), time.Minute))
			},
			func() cloudevents.Event { return collectEvent(t, "default", id, t0.Add(4*time.Minute), "") },
			func() cloudevents.Event {
				return event(t, events.TypeExperimentControl, "/test", "resume", events.Control{Action: events.ActionResume})
			},
			func() cloudevents.Event {
				return event(t, events.TypeMetricsObserved, "/app", "w1-again", appWindow(t0, time.Minute))
			},
			func() cloudevents.Event { return collectEvent(t, "default", id, t0.Add(6*time.Minute), "") },
			func() cloudevents.Event { return collectEvent(t, "default", id, t0.Add(6*time.Minute), "other-tick") },
		}
		for i, step := range steps {
			r.now = t0.Add(time.Duration(i) * time.Minute).Add(time.Second)
			r.all(t, step())
			if i == 0 {
				st, _, _ := r.stored(t, "default", "shop")
				id = st.ID
			}
		}
		st, dedupe, _ := r.stored(t, "default", "shop")
		// 3 collector windows of 10 and 2 application windows of 5.
		if got := [2]float64{st.Data[0][0].Trials, st.Data[1][0].Trials}; got != [2]float64{40, 40} || st.Iteration != 5 {
			t.Errorf("%d replicas: %d iterations, trials %v; want 5 iterations of 40 trials each, every event once", n, st.Iteration, got)
		}
		// The start, the pause, the resume and the two windows from
		// outside; the collector's windows take no key.
		if len(dedupe) != 5*12 {
			t.Errorf("%d replicas: %d bytes of dedupe keys, want 5 keys of 12", n, len(dedupe))
		}
		return r.annotations(t, "default", "shop")
	}
	one, three := run(1), run(3)
	if diff := cmp.Diff(one, three); diff != "" {
		t.Errorf("three replicas left another Service than one (-one +three):\n%s", diff)
	}
}

// maxTickOnlyState bounds the state annotation of a tick-only experiment
// with one metric and two versions after 100 windows: with a dedupe key
// per collector window it weighed 1,200 bytes more. maxTickOnly bounds all
// of iter8's annotations on its Service (docs/scaling.md) at any time in
// its first 200 windows, by when its history has filled up (100 points)
// and thinned.
const (
	maxTickOnlyState = 3 << 10
	maxTickOnly      = 10 << 10
)

// TestTickOnlyStateStaysSmall: an experiment that takes only the tick's
// windows keeps no dedupe key but its start's, so that after 100 ticks,
// each delivered to three replicas at once and once more later, its state
// is under maxTickOnlyState, with every window counted once, and its
// annotations stay under maxTickOnly for 200 ticks.
func TestTickOnlyStateStaysSmall(t *testing.T) {
	r := newReplicas(3)
	r.all(t, event(t, events.TypeExperimentStart, "/test", "start", neverDecides))
	st, _, _ := r.stored(t, "default", "shop")
	largest, at := 0, 0
	for k := 1; k <= 200; k++ {
		r.tickTwice(t, st.ID, k)
		size := 0
		for key, v := range r.annotations(t, "default", "shop") {
			if strings.HasPrefix(key, events.Prefix) {
				size += len(key) + len(v)
			}
		}
		if size > largest {
			largest, at = size, k
		}
		if k != 100 {
			continue
		}
		got, dedupe, size := r.stored(t, "default", "shop")
		t.Logf("after 100 ticks: state annotation %d bytes, %d of them dedupe keys", size, len(dedupe))
		if got.Iteration != 100 || got.Data[0][0].Trials != 1000 || got.Data[1][0].Trials != 1000 {
			t.Errorf("%d iterations, trials %v and %v; want 100 windows of 10, each once", got.Iteration, got.Data[0][0].Trials, got.Data[1][0].Trials)
		}
		if len(dedupe) != 12 {
			t.Errorf("%d bytes of dedupe keys, want the start's 12 alone", len(dedupe))
		}
		if size > maxTickOnlyState {
			t.Errorf("state annotation of %d bytes, want at most %d", size, maxTickOnlyState)
		}
	}
	t.Logf("iter8's annotations in 200 ticks: at most %d bytes (after tick %d)", largest, at)
	if largest > maxTickOnly {
		t.Errorf("iter8's annotations reached %d bytes after tick %d, want at most %d", largest, at, maxTickOnly)
	}
}

// TestPreviousVersionState: a Service as the previous version left it (a
// scale benchmark's, testdata/previous-version-service.json), whose dedupe
// keys include its collector windows', is read and goes on: the state's
// form (experiment.SchemaVersion 1) is unchanged, so the old keys stay and
// still recognise their events, the collect event of its last tick counts
// nothing, and the next tick's window counts once and adds no key.
func TestPreviousVersionState(t *testing.T) {
	raw, err := os.ReadFile("testdata/previous-version-service.json")
	if err != nil {
		t.Fatal(err)
	}
	svc := service("svc-0", true)
	svc.Namespace = "scale-3"
	svc.Labels[store.LabelPhase] = "running"
	if err := json.Unmarshal(raw, &svc.Annotations); err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	objs = append(objs, svc)
	for _, v := range []string{"svc-0-v1", "svc-0-v2"} {
		rev := revision("svc-0", v)
		rev.Namespace = "scale-3"
		objs = append(objs, rev)
	}
	r := newReplicas(1, objs...)
	before, oldKeys, _ := r.stored(t, "scale-3", "svc-0")
	if before.Schema != experiment.SchemaVersion || before.Iteration != 2 || len(oldKeys) != 3*12 {
		t.Fatalf("previous state: schema %d, %d iterations, %d bytes of keys; want schema %d, 2 and 3 keys (the start's and two collector windows')",
			before.Schema, before.Iteration, len(oldKeys), experiment.SchemaVersion)
	}
	deliver := func(e cloudevents.Event) {
		t.Helper()
		e.SetSubject("scale-3/svc-0")
		if _, err := r.hs[0].Route(context.Background(), e); err != nil {
			t.Fatalf("%s %s: %v", e.Type(), e.ID(), err)
		}
	}
	last := before.Collected.Time
	r.now = last.Add(time.Minute)
	deliver(collectEvent(t, "scale-3", before.ID, last, ""))
	// Its start again: its key, written by the previous version, makes it
	// a duplicate, not a second experiment refused.
	start := event(t, events.TypeExperimentStart, "/iter8/reliability", "start", strings.ReplaceAll(neverDecides, "shop", "svc-0"))
	deliver(start)
	if again, keys, _ := r.stored(t, "scale-3", "svc-0"); again.Iteration != 2 || keys != oldKeys {
		t.Errorf("after the last tick and the start again: %d iterations, keys %q; want 2 and %q", again.Iteration, keys, oldKeys)
	}
	deliver(collectEvent(t, "scale-3", before.ID, last.Add(30*time.Second), ""))
	after, keys, _ := r.stored(t, "scale-3", "svc-0")
	if after.Iteration != 3 || after.Data[0][0].Trials != before.Data[0][0].Trials+10 || keys != oldKeys {
		t.Errorf("after the next tick: %d iterations, %v trials, keys %q; want 3, %v and the old keys %q",
			after.Iteration, after.Data[0][0].Trials, keys, before.Data[0][0].Trials+10, oldKeys)
	}
}

// TestCollectorWindowSentAsEventCountsOnce: a window of the collector's
// source sent as an event (collector.Event) counts once against the
// windows the tick folds in, by the collector's mark, although those
// record no key: the same window again folds in nothing, and a window
// sent first moves the mark, so the tick does not count its time again.
func TestCollectorWindowSentAsEventCountsOnce(t *testing.T) {
	r := newReplicas(1)
	r.all(t, event(t, events.TypeExperimentStart, "/test", "start", neverDecides))
	st, _, _ := r.stored(t, "default", "shop")
	r.now = t0.Add(3 * time.Minute)
	r.all(t, collectEvent(t, "default", st.ID, t0.Add(time.Minute), ""))
	for _, w := range []events.MetricsObserved{appWindow(t0, time.Minute), appWindow(t0.Add(time.Minute), time.Minute)} {
		e, err := collector.Event("default", "shop", w)
		if err != nil {
			t.Fatal(err)
		}
		r.all(t, e)
	}
	if mid, _, _ := r.stored(t, "default", "shop"); !mid.Collected.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("after the collector's windows sent as events: collected to %s, want the end of the one folded in, %s", mid.Collected, t0.Add(2*time.Minute))
	}
	r.all(t, collectEvent(t, "default", st.ID, t0.Add(3*time.Minute), ""))
	got, _, _ := r.stored(t, "default", "shop")
	// The tick's [0, 1m) of 10, the event's [1m, 2m) of 5, the tick's
	// [2m, 3m) of 10; the event's [0, 1m) not at all.
	if got.Iteration != 3 || got.Data[0][0].Trials != 25 || !got.Collected.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("%d iterations, %v trials, collected to %s; want 3, 25 and %s", got.Iteration, got.Data[0][0].Trials, got.Collected, t0.Add(3*time.Minute))
	}
}
