package events

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

func BenchmarkDecodeMetricsObserved(b *testing.B) {
	for _, size := range []struct {
		name              string
		versions, metrics int
		buckets           int
	}{
		{"example-2x3", 0, 0, 0},
		{"10x20-ratio", MaxVersions, MaxMetrics, 0},
		{"10x10-histogram-64", MaxVersions, 10, 64},
	} {
		var e = rawEvent(TypeMetricsObserved, "shop/checkout", "application/json", "")
		if size.versions == 0 {
			e = readEventB(b, "testdata/metrics.observed.json")
		} else {
			m := NewMetricsObserved(t0, t0.Add(time.Minute))
			for v := range size.versions {
				for k := range size.metrics {
					o := Ratio(int64(k), 1000)
					if size.buckets > 0 {
						bounds := make([]float64, size.buckets)
						counts := make([]int64, size.buckets+1)
						for i := range bounds {
							bounds[i] = float64(i+1) * 12.5
							counts[i] = int64(i * 1000)
						}
						o = Histogram(bounds, counts)
					}
					m.Set(fmt.Sprintf("checkout-%05d", v), fmt.Sprintf("metric-%d", k), o)
				}
			}
			ev, err := New(TypeMetricsObserved, "bench", "shop/checkout", t0, m)
			if err != nil {
				b.Fatal(err)
			}
			e = ev
		}
		b.Run(fmt.Sprintf("%s-%dB", size.name, len(e.Data())), func(b *testing.B) {
			b.SetBytes(int64(len(e.Data())))
			for b.Loop() {
				if _, err := DecodeMetricsObserved(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNewTrafficChanged(b *testing.B) {
	data := TrafficChanged{Service: "checkout", Iteration: 1, From: map[string]int{"v1": 100}, To: map[string]int{"v1": 80, "v2": 20}}
	for b.Loop() {
		if _, err := New(TypeTrafficChanged, "iter8", "shop/checkout", t0, data); err != nil {
			b.Fatal(err)
		}
	}
}

func readEventB(b *testing.B, name string) event.Event {
	b.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	var e event.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		b.Fatal(err)
	}
	return e
}
