package reliability

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// TestQuantileAboveLastBucketIsAssessed sends a histogram whose values all
// lie above its last bound: the quantile's credible interval is unbounded
// above. The assessment must still be a valid dev.iter8.experiment.assessed
// event (emitted, and stored for kn) rather than one the functions cannot
// build.
func TestQuantileAboveLastBucketIsAssessed(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	e := newEnv(ctx, t, "v1", "v2")
	e.start(ctx, t, "shop", `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
 "metrics":[{"name":"latency-p95","type":"quantile","quantile":0.95}],
 "objectives":[{"metric":"latency-p95","upperLimit":5000}],"limits":{"minSamples":500000,"maxSamples":1000000}}`)
	start := deliver.T0
	w := events.NewMetricsObserved(start, start.Add(time.Minute))
	w.Set("shop-v1", "latency-p95", events.Histogram([]float64{10, 20}, []int64{0, 930, 70}))
	w.Set("shop-v2", "latency-p95", events.Histogram([]float64{10, 20}, []int64{0, 93, 7}))
	ev, _ := deliver.New(events.TypeMetricsObserved, "w-0", e.subject("shop"), w)
	r, _, err := e.client.Deliver(ctx, ev)
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("window: %v %+v", err, r)
	}
	if strings.Contains(e.fn.Log(), "cannot build outbound event") {
		t.Errorf("the functions could not build an event:\n%s", lastLines(e.fn.Log(), 3))
	}
	var a events.Assessed
	stored := e.service(ctx, t, "shop").Annotations[store.AnnotationAssessment]
	if err := json.Unmarshal([]byte(stored), &a); err != nil {
		t.Fatalf("assessment annotation: %v", err)
	}
	b, _ := json.Marshal(a.Versions)
	t.Logf("stored: %s", b)
	if err := a.Validate(); err != nil {
		t.Errorf("the stored assessment breaks the event contract: %v", err)
	}
}
