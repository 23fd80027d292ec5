package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	k8stesting "k8s.io/client-go/testing"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
)

// gated is a Service on a fake API server whose first Update waits at a
// gate, so that a test can queue writers behind it, and whose later
// Updates go through then, if set.
type gated struct {
	cs      *fake.Clientset
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int64
	then    func(call int64, svc *servingv1.Service) error
}

func newGated(t *testing.T) *gated {
	t.Helper()
	g := &gated{entered: make(chan struct{}), release: make(chan struct{})}
	g.cs = fake.NewSimpleClientset(&servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"}})
	g.cs.PrependReactor("update", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		n := g.calls.Add(1)
		if n == 1 {
			close(g.entered)
			<-g.release
			return false, nil, nil
		}
		if g.then != nil {
			if err := g.then(n, a.(k8stesting.UpdateAction).GetObject().(*servingv1.Service)); err != nil {
				return true, nil, err
			}
		}
		return false, nil, nil
	})
	return g
}

// outcome is what one writer got.
type outcome struct {
	res Result
	err error
}

// bump advances the iteration; it fails when fail is set, and asks for a
// split when traffic is set.
func bump(fail, traffic bool) Mutation {
	spec, st := newState(2, 1, 0)
	return func(r Record) (*Change, error) {
		if fail {
			return nil, errors.New("the engine refused the event")
		}
		if r.State != nil {
			st = *r.State
		}
		st.Iteration++
		ch := &Change{Spec: &spec, State: st, Status: "x"}
		if traffic {
			ch.Traffic = map[string]int{"v0": 50, "v1": 50}
		}
		return ch, nil
	}
}

// group writes key "first" and, while its Update waits at the gate, queues
// one writer per key, in order; then it opens the gate and returns every
// writer's outcome, the first's at index 0.
func group(t *testing.T, g *gated, s *Store, keys []string, fail, traffic map[int]bool) []outcome {
	t.Helper()
	ctx := context.Background()
	out := make([]outcome, len(keys)+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		out[0].res, out[0].err = s.Update(ctx, "default", "shop", "first", bump(false, false))
	}()
	<-g.entered
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i+1].res, out[i+1].err = s.Update(ctx, "default", "shop", k, bump(fail[i], traffic[i]))
		}()
		if err := wait.PollUntilContextCancel(ctx, 0, true, func(context.Context) (bool, error) {
			return s.queues.queued("default/shop") == i+1, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	close(g.release)
	wg.Wait()
	return out
}

// TestGroupCommit: writers queued behind a write to the same Service are
// written together, in one Update, each exactly once: a duplicate inside
// the group is recognised, a failing member fails alone and leaves no
// trace, a conflict re-runs the whole group, and a fresh process reading
// the Service afterwards recognises every applied key.
func TestGroupCommit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keys      []string
		fail      map[int]bool
		conflicts int64
		// wantDup and wantErr are per writer, the first write at 0.
		wantDup, wantErr []bool
		wantIteration    int
		wantConflicts    int
	}{
		{name: "folds queued writes", keys: []string{"a", "b", "c"},
			wantDup: []bool{false, false, false, false}, wantErr: []bool{false, false, false, false}, wantIteration: 4},
		{name: "a duplicate inside the group", keys: []string{"a", "b", "a"},
			wantDup: []bool{false, false, false, true}, wantErr: []bool{false, false, false, false}, wantIteration: 3},
		{name: "a duplicate of an earlier write", keys: []string{"first", "b"},
			wantDup: []bool{false, true, false}, wantErr: []bool{false, false, false}, wantIteration: 2},
		{name: "a failing member fails alone", keys: []string{"a", "b", "c"}, fail: map[int]bool{1: true},
			wantDup: []bool{false, false, false, false}, wantErr: []bool{false, false, true, false}, wantIteration: 3},
		{name: "409s mid-group re-run the group", keys: []string{"a", "b", "c"}, conflicts: 2,
			wantDup: []bool{false, false, false, false}, wantErr: []bool{false, false, false, false}, wantIteration: 4, wantConflicts: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGated(t)
			g.then = func(n int64, _ *servingv1.Service) error {
				if n-1 <= tc.conflicts {
					return apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "shop", errors.New("stale"))
				}
				return nil
			}
			s := New(g.cs.ServingV1())
			out := group(t, g, s, tc.keys, tc.fail, nil)
			var dup, failed []bool
			for i, o := range out {
				dup, failed = append(dup, o.res.Duplicate), append(failed, o.err != nil)
				if o.err != nil && events.StatusOf(o.err) != http.StatusServiceUnavailable {
					t.Errorf("writer %d: %v, want a retried 503", i, o.err)
				}
				if i > 0 && o.res.Conflicts != tc.wantConflicts {
					t.Errorf("writer %d: %d conflicts, want %d", i, o.res.Conflicts, tc.wantConflicts)
				}
			}
			if diff := cmp.Diff(tc.wantDup, dup); diff != "" {
				t.Errorf("duplicates (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErr, failed); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			// One Update for the first write, one for the group, and
			// one per conflict.
			if got, want := g.calls.Load(), 2+tc.conflicts; got != want {
				t.Errorf("%d Updates, want %d", got, want)
			}
			if s.queues.size() != 0 {
				t.Errorf("%d queues left after every writer finished", s.queues.size())
			}
			// A fresh process reads what the group wrote, then gets
			// everything again: only what failed is applied now.
			fresh := New(g.cs.ServingV1())
			if r, err := fresh.Get(context.Background(), "default", "shop"); err != nil || r.State.Iteration != tc.wantIteration {
				t.Errorf("after the group: %v (%v), want iteration %d", r.State, err, tc.wantIteration)
			}
			for _, k := range append([]string{"first"}, tc.keys...) {
				if _, err := fresh.Update(context.Background(), "default", "shop", k, bump(false, false)); err != nil {
					t.Fatal(err)
				}
			}
			r, err := fresh.Get(context.Background(), "default", "shop")
			if err != nil {
				t.Fatal(err)
			}
			unique := map[string]bool{"first": true}
			for _, k := range tc.keys {
				unique[k] = true
			}
			if r.State.Iteration != len(unique) || len(r.seen) != len(unique) {
				t.Errorf("after redelivery: iteration %d and %d keys, want %d of each", r.State.Iteration, len(r.seen), len(unique))
			}
		})
	}
}

// TestGroupCommitAllOrNothing: a process killed during a group's write has
// written all of the group or none of it. The writers get a retried
// status either way, and a fresh process that gets the redeliveries
// counts every event once.
func TestGroupCommitAllOrNothing(t *testing.T) {
	gvr := servingv1.SchemeGroupVersion.WithResource("services")
	for _, tc := range []struct {
		name    string
		written bool // the write reached etcd before the reply was lost
	}{{"killed before the write", false}, {"killed after the write", true}} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGated(t)
			g.then = func(_ int64, svc *servingv1.Service) error {
				if tc.written {
					if err := g.cs.Tracker().Update(gvr, svc, "default"); err != nil {
						return err
					}
				}
				return errors.New("connection reset by peer")
			}
			keys := []string{"a", "b", "c"}
			for i, o := range group(t, g, New(g.cs.ServingV1()), keys, nil, nil)[1:] {
				if o.err == nil || events.IsPermanent(o.err) {
					t.Errorf("writer %d: %v, want a retried error", i+1, o.err)
				}
			}
			g.then = nil
			fresh := New(g.cs.ServingV1())
			for _, k := range keys {
				res, err := fresh.Update(context.Background(), "default", "shop", k, bump(false, false))
				if err != nil || res.Duplicate != tc.written {
					t.Errorf("redelivery of %s: duplicate %v, %v; want duplicate %v", k, res.Duplicate, err, tc.written)
				}
			}
			if r, err := fresh.Get(context.Background(), "default", "shop"); err != nil || r.State.Iteration != 4 {
				t.Errorf("iteration %v (%v), want 4: the first write and three events, each once", r.State, err)
			}
		})
	}
}

// TestGroupCommitRefusedSplit: when the API server refuses a group's
// write (here, an admission webhook refusing one member's split), the
// members are written one by one, so only the refused member loses its
// traffic and every observation is kept.
func TestGroupCommitRefusedSplit(t *testing.T) {
	g := newGated(t)
	g.then = func(_ int64, svc *servingv1.Service) error {
		if len(svc.Spec.Traffic) > 0 {
			return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, "shop", nil)
		}
		return nil
	}
	s := New(g.cs.ServingV1())
	out := group(t, g, s, []string{"a", "b", "c"}, nil, map[int]bool{1: true})
	for i, o := range out {
		if o.err != nil || (o.res.TrafficRejected != nil) != (i == 2) {
			t.Errorf("writer %d: %v, traffic rejected: %v", i, o.err, o.res.TrafficRejected)
		}
	}
	if r, err := s.Get(context.Background(), "default", "shop"); err != nil || r.State.Iteration != 4 {
		t.Errorf("iteration %v (%v), want 4", r.State, err)
	}
}

// TestGroupCommitWaitEndsWithContext: a writer waiting behind another
// gives up with a retried status when its context ends, leaves the queue,
// and the write it waited behind still completes.
func TestGroupCommitWaitEndsWithContext(t *testing.T) {
	g := newGated(t)
	s := New(g.cs.ServingV1())
	done := make(chan error)
	go func() {
		_, err := s.Update(context.Background(), "default", "shop", "first", bump(false, false))
		done <- err
	}()
	<-g.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Update(ctx, "default", "shop", "late", bump(false, false)); err == nil || events.StatusOf(err) != http.StatusServiceUnavailable {
		t.Errorf("waiting with an ended context: %v, want a retried 503", err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := s.queues.size(); n != 0 {
		t.Errorf("%d queues left, want 0", n)
	}
}

// TestGroupCommitManyServices: writers to many Services at once never lose
// a write, and no queue outlives its writers.
func TestGroupCommitManyServices(t *testing.T) {
	var objs []runtime.Object
	for i := range 20 {
		objs = append(objs, &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Namespace: "default"}})
	}
	s := New(fake.NewSimpleClientset(objs...).ServingV1())
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Update(context.Background(), "default", fmt.Sprintf("svc-%d", i%20), fmt.Sprint(i), bump(false, false)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 20 {
		r, err := s.Get(context.Background(), "default", fmt.Sprintf("svc-%d", i))
		if err != nil || r.State.Iteration != 20 {
			t.Errorf("svc-%d: iteration %v (%v), want 20", i, r.State, err)
		}
	}
	if n := s.queues.size(); n != 0 {
		t.Errorf("%d queues left, want 0", n)
	}
}

// TestGroupCommitSkipsEndedWriters: a writer whose context ended while it
// was queued gets a retried status and is left out of the write; the
// others are written, and every writer's outcome is delivered once.
func TestGroupCommitSkipsEndedWriters(t *testing.T) {
	g := newGated(t)
	close(g.release)
	s := New(g.cs.ServingV1())
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	batch := []*commit{
		newCommit(context.Background(), "a", bump(false, false)),
		newCommit(ended, "b", bump(false, false)),
		newCommit(context.Background(), "c", bump(false, false)),
	}
	s.commit(context.Background(), "default", "shop", batch)
	var got []string
	for _, c := range batch {
		<-c.done
		got = append(got, fmt.Sprintf("%s written=%v status=%d", c.key, c.wrote, events.StatusOf(c.err)))
	}
	want := []string{"a written=true status=200", "b written=false status=503", "c written=true status=200"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
