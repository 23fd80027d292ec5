package restart

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestAPIServerRestartLosesNothing restarts kube-apiserver (over the same
// etcd) while metrics windows are being delivered to the real functions
// binary, each window twice and four at a time, redelivered until 2xx as
// Knative would. During the outage the functions must answer a retried
// status (never a permanent 4xx, which would drop the window); afterwards
// the experiment goes on, and every window counts exactly once.
func TestAPIServerRestartLosesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
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

	var tally deliver.Tally
	var delivered atomic.Int64
	var outageStatuses sync.Map // status -> count, of deliveries that overlapped the outage
	var outageBegan, outageEnded atomic.Bool
	work := make(chan deliver.Event)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				beforeEnd := !outageEnded.Load()
				r, a, err := client.Deliver(ctx, e)
				tally.Add(a)
				if beforeEnd && outageBegan.Load() {
					for s, n := range a.Statuses {
						v, _ := outageStatuses.LoadOrStore(s, new(atomic.Int64))
						v.(*atomic.Int64).Add(int64(n))
					}
				}
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("window %s: %v, last answer %d %s: the window is lost", e.ID, err, r.Status, r.Body)
				}
				delivered.Add(1)
				// Pace the windows so that the outage falls among them.
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	outage := make(chan error, 1)
	go func() {
		for delivered.Load() < int64(len(queue)/3) {
			time.Sleep(10 * time.Millisecond)
		}
		outageBegan.Store(true)
		t0 := time.Now()
		err := c.RestartAPIServer(ctx, 2*time.Second)
		t.Logf("API server down and back in %s, after %d of %d deliveries", time.Since(t0).Round(time.Millisecond), delivered.Load(), len(queue))
		outageEnded.Store(true)
		outage <- err
	}()
	began := time.Now()
	for _, e := range queue {
		work <- e
	}
	close(work)
	wg.Wait()
	if err := <-outage; err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Logf("%d deliveries in %s", len(queue), time.Since(began).Round(time.Millisecond))

	statuses := tally.Snapshot()
	t.Logf("answers over %d attempts: %v (0 = no answer)", tally.Attempts, statuses)
	seen := map[int]int64{}
	outageStatuses.Range(func(k, v any) bool { seen[k.(int)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("answers to deliveries that overlapped the outage: %v", seen)
	if seen[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no 503 during the outage (%v): the outage did not meet any delivery, or was not reported as retryable", seen)
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
