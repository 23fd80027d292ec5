package integration

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// arm is one way of writing events to one Service: the floor (a bare
// Get+Update loop) or the store.
type arm struct {
	write   func(ctx context.Context, replica int, i int64) error
	count   func(ctx context.Context) (int, error)
	elapsed time.Duration
	events  int64
}

// BenchmarkStoreThroughput reports the events per second one Service
// sustains on the local API server with 8 concurrent writers spread over 4
// function replicas, through the store (dedupe, state JSON, traffic checks,
// group commit) and through a bare Get+Update loop that only bumps an
// annotation (the floor), each on its own Service. The two take turns in
// rounds of 25 events, so that the machine's load, which drifts on a shared
// machine, falls on both alike; cost-ratio is the store's time per event
// over the floor's. Every event must count exactly once in both.
func BenchmarkStoreThroughput(b *testing.B) {
	c := cluster.Shared(b)
	const writers, replicas, round = 8, 4, 25
	ns := c.Namespace(b)
	ctx := context.Background()
	admin := servingclient.NewForConfigOrDie(c.Config)
	bareService(ctx, b, admin, ns, "floor")
	bareService(ctx, b, admin, ns, "shop")

	clients := make([]servingclient.Interface, replicas)
	stores := make([]*store.Store, replicas)
	for i := range replicas {
		clients[i] = servingclient.NewForConfigOrDie(c.Config)
		stores[i] = store.New(servingclient.NewForConfigOrDie(c.Config).ServingV1())
	}
	floor := &arm{
		write: func(ctx context.Context, r int, _ int64) error {
			return retry.RetryOnConflict(store.DefaultBackoff, func() error {
				svc, err := clients[r].ServingV1().Services(ns).Get(ctx, "floor", metav1.GetOptions{})
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(svc.Annotations["count"])
				if svc.Annotations == nil {
					svc.Annotations = map[string]string{}
				}
				svc.Annotations["count"] = strconv.Itoa(n + 1)
				_, err = clients[r].ServingV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{})
				return err
			})
		},
		count: func(ctx context.Context) (int, error) {
			svc, err := admin.ServingV1().Services(ns).Get(ctx, "floor", metav1.GetOptions{})
			if err != nil {
				return 0, err
			}
			return strconv.Atoi(svc.Annotations["count"])
		},
	}
	st := &arm{
		write: func(ctx context.Context, r int, i int64) error {
			_, err := stores[r].Update(ctx, ns, "shop", fmt.Sprintf("bench e-%d", i), addTrials(1))
			return err
		},
		count: func(ctx context.Context) (int, error) {
			rec, err := stores[0].Get(ctx, ns, "shop")
			if err != nil || rec.State == nil {
				return 0, err
			}
			return int(rec.State.Data[0][0].Trials), nil
		},
	}
	var redelivered atomic.Int64
	// burst writes n events through a from every writer at once.
	burst := func(a *arm, n int64) {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > n {
						return
					}
					i += a.events
					// Redeliver what failed, as Knative would: under
					// heavy contention either loop can exhaust its
					// conflict retries.
					err := a.write(ctx, w%replicas, i)
					for try := 0; err != nil && try < 5; try++ {
						redelivered.Add(1)
						err = a.write(ctx, w%replicas, i)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		a.elapsed += time.Since(start)
		a.events += n
	}
	b.ResetTimer()
	for done := int64(0); done < int64(b.N); done += round {
		n := min(round, int64(b.N)-done)
		burst(floor, n)
		burst(st, n)
	}
	b.StopTimer()
	for name, a := range map[string]*arm{"floor": floor, "store": st} {
		if n, err := a.count(ctx); err != nil || int64(n) != a.events {
			b.Errorf("%s: counted %d events (%v), want %d: each exactly once", name, n, err, a.events)
		}
	}
	b.ReportMetric(float64(floor.events)/floor.elapsed.Seconds(), "floor-events/s")
	b.ReportMetric(float64(st.events)/st.elapsed.Seconds(), "store-events/s")
	b.ReportMetric(st.elapsed.Seconds()/floor.elapsed.Seconds(), "cost-ratio")
	b.ReportMetric(float64(redelivered.Load()), "redelivered")
}
