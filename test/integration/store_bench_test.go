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

// BenchmarkStoreThroughput reports the events per second one Service
// sustains on the local API server with 8 concurrent writers spread over 4
// function replicas, through the store (dedupe, state JSON, traffic checks)
// and through a bare Get+Update loop that only bumps an annotation. Their
// ratio is the store's overhead.
func BenchmarkStoreThroughput(b *testing.B) {
	c := cluster.Shared(b)
	const writers, replicas = 8, 4
	// run drives write from every writer, then checks with count that
	// every event counted exactly once.
	run := func(b *testing.B, write func(ctx context.Context, replica int, ns string, i int64) error, count func(ctx context.Context, ns string) (int, error)) {
		ns := c.Namespace(b)
		ctx := context.Background()
		bareService(ctx, b, servingclient.NewForConfigOrDie(c.Config), ns, "shop")
		var next, redelivered atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > int64(b.N) {
						return
					}
					// Redeliver what failed, as Knative would: under
					// heavy contention either loop can exhaust its
					// conflict retries.
					err := write(ctx, w%replicas, ns, i)
					for try := 0; err != nil && try < 5; try++ {
						redelivered.Add(1)
						err = write(ctx, w%replicas, ns, i)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		b.ReportMetric(float64(redelivered.Load()), "redelivered")
		if n, err := count(ctx, ns); err != nil || n != b.N {
			b.Errorf("counted %d events (%v), want %d: each exactly once", n, err, b.N)
		}
	}
	b.Run("bare-get-update", func(b *testing.B) {
		clients := make([]servingclient.Interface, replicas)
		for i := range clients {
			clients[i] = servingclient.NewForConfigOrDie(c.Config)
		}
		run(b, func(ctx context.Context, r int, ns string, i int64) error {
			return retry.RetryOnConflict(store.DefaultBackoff, func() error {
				svc, err := clients[r].ServingV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
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
		}, func(ctx context.Context, ns string) (int, error) {
			svc, err := clients[0].ServingV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
			if err != nil {
				return 0, err
			}
			return strconv.Atoi(svc.Annotations["count"])
		})
	})
	b.Run("store", func(b *testing.B) {
		stores := make([]*store.Store, replicas)
		for i := range stores {
			stores[i] = store.New(servingclient.NewForConfigOrDie(c.Config).ServingV1())
		}
		run(b, func(ctx context.Context, r int, ns string, i int64) error {
			_, err := stores[r].Update(ctx, ns, "shop", fmt.Sprintf("bench e-%d", i), addTrials(1))
			return err
		}, func(ctx context.Context, ns string) (int, error) {
			rec, err := stores[0].Get(ctx, ns, "shop")
			if err != nil || rec.State == nil {
				return 0, err
			}
			return int(rec.State.Data[0][0].Trials), nil
		})
	})
}
