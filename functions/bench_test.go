package functions

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// BenchmarkObserve measures what iter8 adds to each metrics event beyond
// its two API round trips: decoding, the engine (assessment with Monte
// Carlo, decision, split), the state's JSON both ways and the reply. The
// API is an in-memory fake clientset, so its cost is a deep copy, not a
// network trip.
func BenchmarkObserve(b *testing.B) {
	for _, tc := range []struct{ name, spec string }{
		{"canary", `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
		  "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.01}],
		  "limits":{"minSamples":100000000,"maxSamples":1000000000}}`},
		{"abn", `{"kind":"abn","baseline":"shop-v1","candidates":["shop-v2","shop-v3"],
		  "metrics":[{"name":"conversion","type":"ratio"},{"name":"errors","type":"ratio"},{"name":"latency","type":"mean"}],
		  "objectives":[{"metric":"errors","upperLimit":0.01}],"reward":{"metric":"conversion"},"limits":{"minSamples":100000000,"maxSamples":1000000000}}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cs := fake.NewSimpleClientset(service("shop", true), revision("shop", "shop-v1"), revision("shop", "shop-v2"), revision("shop", "shop-v3"))
			st := store.New(cs.ServingV1())
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			h := New(st, WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
			ctx := context.Background()
			start := cloudevents.NewEvent()
			start.SetID("start")
			start.SetSource("/bench")
			start.SetType(events.TypeExperimentStart)
			start.SetSubject("default/shop")
			_ = start.SetData(cloudevents.ApplicationJSON, []byte(tc.spec))
			if _, err := h.Start(ctx, start); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				t0 := now.Add(time.Duration(i) * time.Minute)
				w := events.NewMetricsObserved(t0, t0.Add(time.Minute))
				for _, v := range []string{"shop-v1", "shop-v2", "shop-v3"} {
					w.Set(v, "errors", events.Ratio(1, 1000))
					if tc.name == "abn" {
						w.Set(v, "conversion", events.Ratio(100, 1000))
						w.Set(v, "latency", events.Mean(1000, 50000, 2.6e6))
					}
				}
				if tc.name == "canary" {
					delete(w.Versions, "shop-v3")
				}
				e := cloudevents.NewEvent()
				e.SetID(fmt.Sprint("w", i))
				e.SetSource("/bench")
				e.SetType(events.TypeMetricsObserved)
				e.SetSubject("default/shop")
				_ = e.SetData(cloudevents.ApplicationJSON, w)
				if _, err := h.Observe(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
