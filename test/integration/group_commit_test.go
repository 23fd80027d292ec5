package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// putGate sits between a Store and the API server. Armed, it holds the
// next PUT until released, so that a test can queue writes behind it; with
// lose set, the PUTs after the held one that the API server accepts lose
// their replies, as when the process dies right after writing.
type putGate struct {
	rt      http.RoundTripper
	mu      sync.Mutex
	hold    chan struct{}
	entered chan struct{}
	lose    bool
	puts    int
}

func (g *putGate) arm(lose bool) (entered, release chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold, g.entered, g.lose = make(chan struct{}), make(chan struct{}), lose
	return g.entered, g.hold
}

func (g *putGate) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut {
		return g.rt.RoundTrip(req)
	}
	g.mu.Lock()
	hold, entered, lose := g.hold, g.entered, g.lose
	g.hold = nil
	g.puts++
	g.mu.Unlock()
	if hold != nil {
		close(entered)
		<-hold
		return g.rt.RoundTrip(req)
	}
	resp, err := g.rt.RoundTrip(req)
	// Only a write that landed loses its reply: the Serving controller
	// also writes the Service, so a PUT may meet a 409, which the Store
	// must see to re-run the group, as it would in a live process.
	if lose && err == nil && resp.StatusCode < 300 {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer: the functions process died after writing")
	}
	return resp, err
}

// gatedWrite is one write of a group and what it got.
type gatedWrite struct {
	key string
	m   store.Mutation
	res store.Result
	err error
}

// writeGroup writes first, and while its PUT is held queues the writes in
// order behind it, then releases it and waits for all.
func writeGroup(ctx context.Context, t *testing.T, g *putGate, s *store.Store, ns string, lose bool, first *gatedWrite, queued []*gatedWrite) {
	t.Helper()
	entered, release := g.arm(lose)
	var wg sync.WaitGroup
	do := func(w *gatedWrite) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.res, w.err = s.Update(ctx, ns, "shop", w.key, w.m)
		}()
	}
	do(first)
	<-entered
	for i, w := range queued {
		do(w)
		if err := wait.PollUntilContextCancel(ctx, time.Millisecond, true, func(context.Context) (bool, error) {
			return s.Queued(ns, "shop") == i+1, nil
		}); err != nil {
			t.Fatalf("queueing %s: %v", w.key, err)
		}
	}
	close(release)
	wg.Wait()
}

// TestStoreGroupCommit runs group commits on the real API server: writes
// queued behind a write are folded into one Update, a duplicate inside the
// group counts once, a failing member fails alone, another writer's change
// mid-group (a 409) re-runs the group without losing either, and a
// process that dies right after the group's write has written all of it:
// a fresh process finds every redelivered event a duplicate.
func TestStoreGroupCommit(t *testing.T) {
	ctx, c, ns, sv := shopService(t, 2*time.Minute)
	g := &putGate{}
	cfg := rest.CopyConfig(c.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { g.rt = rt; return g }
	s := store.New(servingclient.NewForConfigOrDie(cfg).ServingV1())

	interfered := 0
	interfere := func(r store.Record) (*store.Change, error) {
		if interfered++; interfered == 1 {
			err := cluster.UpdateService(ctx, sv.ServingV1().Services(ns), "shop", func(cur *servingv1.Service) {
				cur.Annotations["team"] = "checkout"
			})
			if err != nil {
				return nil, err
			}
		}
		return addTrials(8)(r)
	}
	failing := func(store.Record) (*store.Change, error) { return nil, errors.New("the engine refused the event") }
	first := &gatedWrite{key: "k0", m: addTrials(1)}
	queued := []*gatedWrite{{key: "k1", m: addTrials(2)}, {key: "k2", m: addTrials(4)}, {key: "k1", m: addTrials(2)},
		{key: "bad", m: failing}, {key: "k3", m: interfere}}
	writeGroup(ctx, t, g, s, ns, false, first, queued)
	var got []string
	for _, w := range append([]*gatedWrite{first}, queued...) {
		got = append(got, fmt.Sprintf("%s dup=%v err=%v", w.key, w.res.Duplicate, w.err != nil))
	}
	want := []string{"k0 dup=false err=false", "k1 dup=false err=false", "k2 dup=false err=false",
		"k1 dup=true err=false", "bad dup=false err=true", "k3 dup=false err=false"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcomes:\n got %v\nwant %v", got, want)
	}
	if interfered < 2 || queued[0].res.Conflicts < 1 {
		t.Errorf("the interfering member ran %d times and the group saw %d conflicts; want a 409 and a re-run", interfered, queued[0].res.Conflicts)
	}
	// One write for k0 and one for the whole group, plus one per conflict:
	// the Serving controller's status writes to the new Service can also
	// meet k0's PUT with a 409.
	if want := 2 + int(s.Conflicts()); g.puts != want {
		t.Errorf("%d PUTs, want %d: k0's, the group's and one per conflict retried (%d)", g.puts, want, s.Conflicts())
	}

	// The process dies right after the next group's write.
	first = &gatedWrite{key: "k4", m: addTrials(16)}
	queued = []*gatedWrite{{key: "k5", m: addTrials(32)}, {key: "k6", m: addTrials(64)}}
	writeGroup(ctx, t, g, s, ns, true, first, queued)
	for _, w := range queued {
		if w.err == nil || events.IsPermanent(w.err) {
			t.Errorf("%s: %v, want a retried error after the lost reply", w.key, w.err)
		}
	}
	fresh := store.New(servingclient.NewForConfigOrDie(c.Config).ServingV1())
	for _, k := range []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6"} {
		if res, err := fresh.Update(ctx, ns, "shop", k, addTrials(1000)); err != nil || !res.Duplicate {
			t.Errorf("redelivery of %s to a fresh process: duplicate %v, %v; want a duplicate", k, res.Duplicate, err)
		}
	}
	r, err := fresh.Get(ctx, ns, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if r.State.Data[0][0].Trials != 127 || r.State.Iteration != 7 || r.Service.Annotations["team"] != "checkout" {
		t.Errorf("trials %v, iteration %d, team %q; want 127 (each event once), 7 and the other writer's annotation",
			r.State.Data[0][0].Trials, r.State.Iteration, r.Service.Annotations["team"])
	}
}
