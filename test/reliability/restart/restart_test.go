package restart

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// longCanary never decides within a test: minSamples is out of reach, and a
// candidate without errors never violates its objective.
const longCanary = `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.5}],
 "limits":{"minSamples":500000,"maxSamples":1000000}}`

// TestAPIServerRestartLosesNothing stops kube-apiserver (over the same
// etcd) while metrics windows are being delivered to the real functions
// binary, each window twice and four at a time, redelivered until 2xx as
// Knative would. It synchronises on what happened, not on time: a third of
// the deliveries are done; the API server is stopped and down; deliveries
// go on until the functions have answered at least minOutageAnswers of
// them with a retried status (never a permanent 4xx, which would drop the
// window), those deliveries still in flight; only then does the API server
// come back. Afterwards the experiment goes on, and every window counts
// exactly once.
func TestAPIServerRestartLosesNothing(t *testing.T) {
	ctx := deliver.Context(t, deliver.Bound)
	c, err := cluster.Start(ctx, cluster.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A restarted API server is ours, not envtest's: stop it first.
		if err := c.StopAPIServer(context.Background()); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	ns := c.Namespace(t)
	sv := servingclient.NewForConfigOrDie(c.Config)
	if err := deliver.BareService(ctx, sv, ns, "shop", "shop-v1", "shop-v2"); err != nil {
		t.Fatal(err)
	}
	fn, err := deliver.StartFunctions(ctx, deliver.FunctionsBin(c.Root), c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	client := deliver.NewClient(fn.URL)
	subject := events.Subject(ns, "shop")

	start, _ := deliver.New(events.TypeExperimentStart, "start", subject, []byte(longCanary))
	if r, _, err := client.Deliver(ctx, start); err != nil || r.Status != http.StatusOK {
		t.Fatalf("start: %v %+v", err, r)
	}

	const windows = 40
	var wantTrials, wantSucc [2]float64
	var queue []deliver.Event
	for i := range windows {
		trials := map[string]int64{"shop-v1": int64(100 + i), "shop-v2": int64(10 + i%7)}
		succ := map[string]int64{"shop-v1": int64(i % 3)}
		wantTrials[0] += float64(trials["shop-v1"])
		wantTrials[1] += float64(trials["shop-v2"])
		wantSucc[0] += float64(succ["shop-v1"])
		e, err := deliver.New(events.TypeMetricsObserved, fmt.Sprintf("w-%d", i), subject, deliver.RatioWindow(i, "errors", trials, succ))
		if err != nil {
			t.Fatal(err)
		}
		queue = append(queue, e, e) // each window delivered twice
	}

	// While the API server is down, every answer is counted here, and the
	// minOutageAnswers-th retried one tells the test the outage has been met.
	const minOutageAnswers = 8
	var down atomic.Bool
	var outageMu sync.Mutex
	outageStatuses := map[int]int{}
	met := make(chan struct{})
	client.Answered = func(_ deliver.Event, status int) {
		if !down.Load() {
			return
		}
		outageMu.Lock()
		defer outageMu.Unlock()
		outageStatuses[status]++
		if outageStatuses[http.StatusServiceUnavailable]+outageStatuses[http.StatusTooManyRequests] == minOutageAnswers {
			close(met)
		}
	}

	var tally deliver.Tally
	// deliverAll delivers batch with 4 senders; the returned function waits
	// until every event was delivered or given up.
	deliverAll := func(batch []deliver.Event) (wait func()) {
		senders := client.Senders(ctx, 4, &tally, func(e deliver.Event, r deliver.Reply, err error) {
			t.Errorf("window %s: %v, last answer %d %s: the window is lost", e.ID, err, r.Status, r.Body)
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, e := range batch {
				if !senders.Send(ctx, e) {
					break
				}
			}
			senders.Close()
		}()
		return func() { <-done }
	}

	began := time.Now()
	third := len(queue) / 3
	deliverAll(queue[:third])()
	if err := c.StopAPIServer(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	down.Store(true)
	t.Logf("API server down after %d of %d deliveries", third, len(queue))
	rest := deliverAll(queue[third:])
	select {
	case <-met:
	case <-ctx.Done():
		t.Fatalf("the functions never answered %d deliveries with a retried status while the API server was down: %v", minOutageAnswers, ctx.Err())
	}
	down.Store(false)
	t.Logf("%d deliveries answered 503/429 while the API server was down, and in flight: restarting it", minOutageAnswers)
	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	rest()
	t.Logf("%d deliveries in %s", len(queue), time.Since(began).Round(time.Millisecond))

	statuses := tally.Snapshot()
	t.Logf("answers over %d attempts: %v (0 = no answer)", tally.Attempts, statuses)
	outageMu.Lock()
	seen := maps.Clone(outageStatuses)
	outageMu.Unlock()
	t.Logf("answers while the API server was down: %v (0 = no answer)", seen)
	for s, n := range seen {
		if s != http.StatusServiceUnavailable && s != http.StatusTooManyRequests {
			t.Errorf("answered %d %d times while the API server was down: only a retried 503 or 429 keeps the window", s, n)
		}
	}
	for s := range statuses {
		if s != http.StatusOK && s != http.StatusServiceUnavailable && s != http.StatusTooManyRequests {
			t.Errorf("answered %d %d times: only 200, and 503/429 while the API server is away, are expected", s, statuses[s])
		}
	}

	st := store.New(sv.ServingV1())
	rec, err := st.Get(ctx, ns, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State.Iteration != windows {
		t.Errorf("iteration %d, want %d: windows lost or counted twice", rec.State.Iteration, windows)
	}
	for v := range 2 {
		d := rec.State.Data[v][0]
		if d.Trials != wantTrials[v] || d.Successes != wantSucc[v] {
			t.Errorf("%s: %v successes in %v trials, want %v in %v", rec.State.Versions[v], d.Successes, d.Trials, wantSucc[v], wantTrials[v])
		}
	}
	// The experiment goes on after the outage: a new window is applied.
	after, _ := deliver.New(events.TypeMetricsObserved, "after", subject,
		deliver.RatioWindow(windows, "errors", map[string]int64{"shop-v1": 1}, nil))
	if r, _, err := client.Deliver(ctx, after); err != nil || r.Status != http.StatusOK {
		t.Fatalf("window after the outage: %v %+v", err, r)
	}
	b, _ := json.Marshal(rec.State.Traffic)
	t.Logf("phase %s after %d windows, split %s", rec.State.Phase, rec.State.Iteration, b)
}
