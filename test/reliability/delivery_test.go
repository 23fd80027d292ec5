package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// counts is what the state must hold after a set of windows.
type counts struct {
	trials, errs [2]float64
	windows      int
}

// canaryWindows builds n windows for shop-v1/shop-v2 with distinct
// counts, so that a window lost or counted twice shows in the totals.
func canaryWindows(t *testing.T, subject string, n int) ([]deliver.Event, counts) {
	var want counts
	var out []deliver.Event
	for i := range n {
		n1, n2, e1 := int64(100+i), int64(10+i%5), int64(i%4)
		want.trials[0] += float64(n1)
		want.trials[1] += float64(n2)
		want.errs[0] += float64(e1)
		out = append(out, window(t, subject, fmt.Sprintf("w-%d", i), i, "shop-v1", "shop-v2", n1, n2, e1))
	}
	want.windows = n
	return out, want
}

func (e *env) checkCounts(ctx context.Context, t *testing.T, want counts) {
	t.Helper()
	r := e.record(ctx, t, "shop")
	if err := consistent(r); err != nil {
		t.Error(err)
	}
	if r.State.Iteration != want.windows {
		t.Errorf("iteration %d, want %d: windows lost or counted twice", r.State.Iteration, want.windows)
	}
	for v := range 2 {
		d := r.State.Data[v][0]
		if d.Trials != want.trials[v] || d.Successes != want.errs[v] {
			t.Errorf("%s: %v errors in %v trials, want %v in %v", r.State.Versions[v], d.Successes, d.Trials, want.errs[v], want.trials[v])
		}
	}
}

// minKills is how often the functions process must be killed mid-run.
const minKills = 8

// waitFor polls cond until it holds (true), or done is closed or ctx ends
// (false).
func waitFor(ctx context.Context, done <-chan struct{}, cond func() bool) bool {
	for !cond() {
		select {
		case <-done:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(time.Millisecond):
		}
	}
	return true
}

// handling says whether e's functions process is handling an event: a
// delivery is in flight, and the process's own in-flight gauge is up.
func handling(ctx context.Context, e *env) bool {
	if e.client.InFlight() == 0 {
		return false
	}
	n, err := e.fn.EventsInFlight(ctx)
	return err == nil && n > 0
}

// TestFunctionKilledMidEventConverges SIGKILLs the real functions process
// while it is handling an event, as windows are delivered to it, and
// restarts it each time: the kills land while an event is between its read
// of the Service and its write, since the engine runs there. A reader
// polling the Service must always find annotations that decode and a
// spec.traffic that agrees with the state, and redelivery until 2xx must
// converge to the exact counts.
func TestFunctionKilledMidEventConverges(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	e := newEnv(ctx, t, "v1", "v2")
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))
	windows, want := canaryWindows(t, e.subject("shop"), 40)
	queue := redelivered(windows, rand.New(rand.NewPCG(2026, 12)), 2)

	done := make(chan struct{})
	var bg sync.WaitGroup
	var killed, applied atomic.Int64
	e.client.Answered = func(_ deliver.Event, status int) {
		if status == http.StatusOK {
			applied.Add(1)
		}
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		for {
			// Kill when the process is handling an event (its
			// iter8_events_in_flight gauge says so, while a delivery waits
			// for the answer), however slow a busy machine makes it:
			// the kill then lands between the read of the Service and
			// the write. Between two kills, at least one delivery is
			// answered, so that the deliveries make progress however
			// long handling an event takes.
			mark := applied.Load()
			if !waitFor(ctx, done, func() bool { return applied.Load() > mark }) ||
				!waitFor(ctx, done, func() bool { return handling(ctx, e) }) {
				return
			}
			e.fn.Kill()
			killed.Add(1)
			if err := e.fn.Restart(ctx); err != nil {
				t.Errorf("restart %d: %v", killed.Load(), err)
				return
			}
		}
	}()
	var reads atomic.Int64
	bg.Add(1)
	go func() {
		defer bg.Done()
		lastIter, lastTrials := 0, 0.0
		for {
			select {
			case <-done:
				return
			case <-time.After(15 * time.Millisecond):
			}
			r, err := e.store.Get(ctx, e.ns, "shop")
			if err != nil {
				t.Errorf("read %d: %v", reads.Load(), err)
				return
			}
			reads.Add(1)
			if err := consistent(r); err != nil {
				t.Errorf("read %d: %v", reads.Load(), err)
				return
			}
			if r.State.Iteration < lastIter || r.State.Data[0][0].Trials < lastTrials {
				t.Errorf("read %d: went back from iteration %d (%v trials) to %d (%v)", reads.Load(),
					lastIter, lastTrials, r.State.Iteration, r.State.Data[0][0].Trials)
			}
			lastIter, lastTrials = r.State.Iteration, r.State.Data[0][0].Trials
		}
	}()

	var tally deliver.Tally
	senders := e.client.Senders(ctx, 3, &tally, func(ev deliver.Event, r deliver.Reply, err error) {
		t.Errorf("window %s: %v; answer %d %s", ev.ID, err, r.Status, r.Body)
	})
	for _, ev := range queue {
		senders.Send(ctx, ev)
	}
	// However fast the functions are, keep redelivering (duplicates, which
	// must change nothing) until the fault has been injected enough times.
	again := rand.New(rand.NewPCG(2026, 13))
	for killed.Load() < minKills && ctx.Err() == nil {
		ev := windows[again.IntN(len(windows))]
		queue = append(queue, ev)
		senders.Send(ctx, ev)
	}
	senders.Close()
	close(done)
	bg.Wait()
	kills := int(killed.Load())
	t.Logf("%d deliveries of %d windows; %d kills; %d consistent reads; answers %v (0 = connection lost)",
		len(queue), len(windows), kills, reads.Load(), tally.Snapshot())
	if kills < minKills {
		t.Errorf("only %d kills: the fault was barely injected", kills)
	}
	if tally.Snapshot()[0] == 0 {
		t.Errorf("no delivery lost its connection: no kill met an event in flight")
	}
	e.checkCounts(ctx, t, want)
}

// TestDuplicatedReorderedConcurrentWindows delivers every window one to five
// times, shuffled, eight at a time, across two function processes (two
// replicas, which really conflict on the API server): the counts are exact.
func TestDuplicatedReorderedConcurrentWindows(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	e := newEnv(ctx, t, "v1", "v2")
	second, err := deliver.StartFunctions(ctx, deliver.FunctionsBin(e.c.Root), e.c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Stop)
	replicas := []*deliver.Client{e.client, deliver.NewClient(second.URL)}
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))
	windows, want := canaryWindows(t, e.subject("shop"), 50)
	queue := redelivered(windows, rand.New(rand.NewPCG(3, 5)), 5)

	var tally deliver.Tally
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r, a, err := replicas[i%2].Deliver(ctx, queue[i])
				tally.Add(a)
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("delivery %d (%s): %v; answer %d %s", i, queue[i].ID, err, r.Status, r.Body)
				}
			}
		}()
	}
	for i := range queue {
		work <- i
	}
	close(work)
	wg.Wait()
	conflicts := scrape(ctx, t, e.client.URL, "iter8_write_conflicts_total") + scrape(ctx, t, second.URL, "iter8_write_conflicts_total")
	t.Logf("%d deliveries of %d windows over 2 replicas: answers %v, %v write conflicts retried", len(queue), len(windows), tally.Snapshot(), conflicts)
	e.checkCounts(ctx, t, want)
	if r := e.record(ctx, t, "shop"); !r.State.WindowEnd.Equal(deliver.T0.Add(50 * time.Minute)) {
		t.Errorf("windowEnd %s, want the end of the latest window", r.State.WindowEnd)
	}
}

// TestWindowResentUnderNewID resends a window (same source, same
// instants, same data) under a new CloudEvents id, as a producer that lost
// track of its ids would. docs/events.md promises it is still counted once.
func TestWindowResentUnderNewID(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	e := newEnv(ctx, t, "v1", "v2")
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))
	first := window(t, e.subject("shop"), "first-id", 0, "shop-v1", "shop-v2", 100, 10, 1)
	again := first
	again.ID = "another-id"
	for _, ev := range []deliver.Event{first, again} {
		if r, _, err := e.client.Deliver(ctx, ev); err != nil || r.Status != http.StatusOK {
			t.Fatalf("%s: %v %+v", ev.ID, err, r)
		}
	}
	e.checkCounts(ctx, t, counts{trials: [2]float64{100, 10}, errs: [2]float64{1, 0}, windows: 1})
}

// redelivered is each event 1 to most times, in a random order: deliveries
// as Knative's at-least-once retries may make them.
func redelivered(evs []deliver.Event, rng *rand.Rand, most int) []deliver.Event {
	var queue []deliver.Event
	for _, ev := range evs {
		for range 1 + rng.IntN(most) {
			queue = append(queue, ev)
		}
	}
	rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	return queue
}

// scrape reads an unlabelled counter or gauge from a /metrics page.
func scrape(ctx context.Context, t *testing.T, base, name string) float64 {
	t.Helper()
	v, err := deliver.Scrape(ctx, base, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
