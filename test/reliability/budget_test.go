package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// abnSpec is an A/B/n experiment over versions with a reward "conversion"
// and the given further metrics, which never decides within a test: its
// sample limits are out of reach.
func abnSpec(versions []string, metrics []events.MetricSpec) string {
	spec := events.ExperimentSpec{
		Kind: events.KindABN, Baseline: versions[0], Candidates: versions[1:],
		Metrics: append([]events.MetricSpec{{Name: "conversion", Type: events.MetricRatio}}, metrics...),
		Reward:  &events.Reward{Metric: "conversion"},
		Limits:  events.Limits{MinSamples: 100_000_000_000, MaxSamples: 1_000_000_000_000},
	}
	b, _ := json.Marshal(spec)
	return string(b)
}

func revisionNames(service string, n int) ([]string, []string) {
	var versions, revs []string
	for i := range n {
		versions = append(versions, fmt.Sprintf("v%d", i))
		revs = append(revs, fmt.Sprintf("%s-v%d", service, i))
	}
	return versions, revs
}

// iter8Annotations is what iter8 writes on a Service, spec.traffic aside,
// as one string: the Knative controller writes the Service's status at any
// time, so its resourceVersion cannot tell whether iter8 wrote.
func iter8Annotations(svc *servingv1.Service) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(svc.Annotations)) {
		if strings.HasPrefix(k, events.Prefix) {
			b.WriteString(k + "=" + svc.Annotations[k] + "\n")
		}
	}
	return b.String()
}

// quantiles declares n histogram metrics.
func quantiles(n int) []events.MetricSpec {
	var out []events.MetricSpec
	for i := range n {
		out = append(out, events.MetricSpec{Name: fmt.Sprintf("latency-%d", i), Type: events.MetricQuantile, Quantile: 0.95})
	}
	return out
}

// histogramWindow is window i with, per version, a conversion ratio and a
// histogram of 256 buckets (the most allowed) for every metric; counts
// grow by hundreds, so the state grows by a digit a bucket every few
// windows.
func histogramWindow(i int, revs []string, metrics []events.MetricSpec) events.MetricsObserved {
	bounds := make([]float64, events.MaxBuckets)
	for k := range bounds {
		bounds[k] = float64(k + 1)
	}
	start := deliver.T0.Add(time.Duration(i) * time.Minute)
	w := events.NewMetricsObserved(start, start.Add(time.Minute))
	for v, rev := range revs {
		w.Set(rev, "conversion", events.Ratio(int64(v+i%7), 100))
		for _, m := range metrics {
			counts := make([]int64, len(bounds)+1)
			for k := range counts {
				counts[k] = 100 * int64(1+(i+k+v)%9)
			}
			w.Set(rev, m.Name, events.Histogram(bounds, counts))
		}
	}
	return w
}

// TestAnnotationBudget drives A/B/n experiments with 10 versions and
// histogram metrics of 256 buckets past store.Budget: one whose first window
// alone would not fit, and one that grows into the budget window by window.
// Each window must be applied (the store compacting what it can) or refused
// with a permanent 422 that says so, leaving the Service as it was: never a
// retried status, never an API rejection, and the counts of the windows
// applied are exact. Then it measures the steady size of 10 versions x 10
// metrics.
func TestAnnotationBudget(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.LongBound)
	versions, revs := revisionNames("shop", 10)
	e := newEnv(ctx, t, versions...)
	fast := e.inProcess(t)
	subject := e.subject("shop")
	abort := func(t *testing.T, id string) {
		ev, _ := deliver.New(events.TypeExperimentControl, id, subject, events.Control{Action: events.ActionAbort})
		if r, _, err := fast.Deliver(ctx, ev); err != nil || r.Status != http.StatusOK {
			t.Fatalf("abort: %v %+v", err, r)
		}
	}

	t.Run("first window over the budget", func(t *testing.T) {
		metrics := quantiles(10) // about 200 KB of data: under the event limit, over the budget
		e.start(ctx, t, "shop", abnSpec(revs, metrics))
		before := iter8Annotations(e.service(ctx, t, "shop"))
		ev, _ := deliver.New(events.TypeMetricsObserved, "huge", subject, histogramWindow(0, revs, metrics))
		r, a, err := e.client.Deliver(ctx, ev)
		if err != nil || a.N != 1 || r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "budget") {
			t.Fatalf("%v after %d attempts; answer %d %s: want a permanent 422 about the budget", err, a.N, r.Status, r.Body)
		}
		t.Logf("answer: %s", strings.TrimSpace(r.Body))
		if after := iter8Annotations(e.service(ctx, t, "shop")); after != before {
			t.Errorf("the refused window changed the experiment on the Service")
		}
		if resp, err := http.Get(e.fn.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %v %v", err, resp)
		}
		abort(t, "abort-huge")
	})

	t.Run("grown into the budget", func(t *testing.T) {
		metrics := quantiles(5)
		ev, _ := deliver.New(events.TypeExperimentStart, "start-grow", subject, []byte(abnSpec(revs, metrics)))
		if r, _, err := fast.Deliver(ctx, ev); err != nil || r.Status != http.StatusOK {
			t.Fatalf("start: %v %+v", err, r)
		}
		var conv [10][2]float64 // accepted successes, trials
		var hist [10]float64    // accepted values of latency-0
		applied, refused, maxSize := 0, 0, 0
		compacted := ""
		for i := 0; i < 40 && refused == 0; i++ {
			w := histogramWindow(i, revs, metrics)
			ev, _ := deliver.New(events.TypeMetricsObserved, fmt.Sprintf("w-%d", i), subject, w)
			before := iter8Annotations(e.service(ctx, t, "shop"))
			r, a, err := fast.Deliver(ctx, ev)
			if err != nil || a.N != 1 {
				t.Fatalf("window %d: %v after %d attempts %v: a retried answer", i, err, a.N, a.Statuses)
			}
			svc := e.service(ctx, t, "shop")
			size := deliver.AnnotationBytes(svc)
			maxSize = max(maxSize, size)
			if size > store.Budget {
				t.Fatalf("window %d: iter8's annotations take %d bytes, over the %d budget", i, size, store.Budget)
			}
			switch {
			case r.Status == http.StatusOK:
				applied++
				for v, rev := range revs {
					o := w.Versions[rev]
					conv[v][0] += float64(*o["conversion"].Successes)
					conv[v][1] += float64(*o["conversion"].Trials)
					for _, c := range o["latency-0"].Counts {
						hist[v] += float64(c)
					}
				}
				rec := e.record(ctx, t, "shop")
				if compacted == "" && (svc.Annotations[store.AnnotationAssessment] == "" || rec.State.History.Every > 1) {
					compacted = fmt.Sprintf("window %d: compacted to %d bytes (assessment %d bytes, history every %d iterations)",
						i, size, len(svc.Annotations[store.AnnotationAssessment]), rec.State.History.Every)
					t.Log(compacted)
				}
			case r.Status == http.StatusUnprocessableEntity && strings.Contains(r.Body, "budget"):
				// A window that fits alone but not on top of the data held
				// means the experiment has outgrown the budget: it ends,
				// failed, with its traffic freed as onFailure says, rather
				// than stay Running while every window is refused. Its data
				// stays as it was (checked below).
				refused++
				t.Logf("window %d refused at %d bytes: %s", i, size, strings.TrimSpace(r.Body))
				rec := e.record(ctx, t, "shop")
				if rec.State.Phase != experiment.PhaseFailed || !strings.Contains(rec.State.Reason, "budget") {
					t.Errorf("window %d: refused for the budget, yet phase %s (%s): want Failed naming the budget", i, rec.State.Phase, rec.State.Reason)
				}
				if err := consistent(rec); err != nil {
					t.Errorf("window %d: %v", i, err)
				}
				if iter8Annotations(svc) == before {
					t.Errorf("window %d: refused for the budget, yet the experiment on the Service did not end", i)
				}
			default:
				t.Fatalf("window %d: answer %d %s: want 200, or a permanent 422 about the budget", i, r.Status, r.Body)
			}
		}
		rec := e.record(ctx, t, "shop")
		t.Logf("%d windows applied, %d refused; largest annotations %d bytes of %d; phase %s", applied, refused, maxSize, store.Budget, rec.State.Phase)
		if compacted == "" && refused == 0 {
			t.Errorf("neither compaction nor a refusal: the budget was never met (largest %d bytes)", maxSize)
		}
		if rec.State.Iteration != applied {
			t.Errorf("iteration %d, want %d windows applied", rec.State.Iteration, applied)
		}
		for v := range revs {
			d := rec.State.Data[v][0]
			if d.Successes != conv[v][0] || d.Trials != conv[v][1] {
				t.Errorf("%s conversion: %v in %v, want %v in %v", revs[v], d.Successes, d.Trials, conv[v][0], conv[v][1])
			}
			total := 0.0
			for _, c := range rec.State.Data[v][1].Counts {
				total += c
			}
			if total != hist[v] {
				t.Errorf("%s latency-0: %v values, want %v", revs[v], total, hist[v])
			}
		}
		if refused == 0 {
			abort(t, "abort-grow")
		}
	})

	t.Run("10x10 steady size", func(t *testing.T) {
		stateSize10x10(ctx, t, fast, e, revs)
	})
}

// stateSize10x10 starts an experiment with 10 versions and 10 metrics (a
// ratio reward, 3 more ratios, 4 means, 2 histograms of 16 buckets) and
// feeds it 520 windows, past the 512-key dedupe window and the 100-point
// history, logging the size of the annotations as it grows.
func stateSize10x10(ctx context.Context, t *testing.T, client *deliver.Client, e *env, revs []string) {
	subject := e.subject("shop")
	var metrics []events.MetricSpec
	for i := range 3 {
		metrics = append(metrics, events.MetricSpec{Name: fmt.Sprintf("errors-%d", i), Type: events.MetricRatio})
	}
	for i := range 4 {
		metrics = append(metrics, events.MetricSpec{Name: fmt.Sprintf("latency-%d", i), Type: events.MetricMean})
	}
	for i := range 2 {
		metrics = append(metrics, events.MetricSpec{Name: fmt.Sprintf("p95-%d", i), Type: events.MetricQuantile, Quantile: 0.95})
	}
	ev, _ := deliver.New(events.TypeExperimentStart, "start-10x10", subject, []byte(abnSpec(revs, metrics)))
	if r, _, err := client.Deliver(ctx, ev); err != nil || r.Status != http.StatusOK {
		t.Fatalf("start: %v %+v", err, r)
	}
	bounds := []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000}
	const windows = 520
	began := time.Now()
	var sizes []string
	for i := range windows {
		start := deliver.T0.Add(time.Duration(10000+i) * time.Minute)
		w := events.NewMetricsObserved(start, start.Add(time.Minute))
		for v, rev := range revs {
			n := int64(100 + 3*v + i%13)
			w.Set(rev, "conversion", events.Ratio(n/10, n))
			for _, m := range metrics {
				switch m.Type {
				case events.MetricRatio:
					w.Set(rev, m.Name, events.Ratio(int64(i%5), n))
				case events.MetricMean:
					w.Set(rev, m.Name, events.Mean(n, 48.7*float64(n), float64(n)*(48.7*48.7+31.3)))
				default:
					// Latencies mostly of 10 to 100 ms: the 95th
					// percentile lies inside the buckets.
					counts := make([]int64, len(bounds)+1)
					counts[3], counts[4], counts[5], counts[6] = n/4, n/2, n/8, n/16
					counts[7] = n - counts[3] - counts[4] - counts[5] - counts[6]
					w.Set(rev, m.Name, events.Histogram(bounds, counts))
				}
			}
		}
		ev, _ := deliver.New(events.TypeMetricsObserved, fmt.Sprintf("s-%d", i), subject, w)
		r, _, err := client.Deliver(ctx, ev)
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("window %d: %v %+v", i, err, r)
		}
		if i == 0 || i == 99 || i == 255 || i == windows-1 {
			svc := e.service(ctx, t, "shop")
			st, raw, _ := deliver.StateAnnotation(svc)
			sizes = append(sizes, fmt.Sprintf("after %d windows: %d bytes (state %d, spec %d, assessment %d, dedupe keys %d)",
				i+1, deliver.AnnotationBytes(svc), len(st), len(svc.Annotations[store.AnnotationExperiment]),
				len(svc.Annotations[store.AnnotationAssessment]), len(raw.Seen)))
		}
	}
	for _, s := range sizes {
		t.Log("10 versions x 10 metrics: " + s)
	}
	t.Logf("%d windows in %s", windows, time.Since(began).Round(time.Millisecond))
	rec := e.record(ctx, t, "shop")
	if rec.State.Iteration != windows {
		t.Errorf("iteration %d, want %d", rec.State.Iteration, windows)
	}
	svc, err := e.sv.ServingV1().Services(e.ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := deliver.AnnotationBytes(svc); n > store.Budget/2 {
		t.Errorf("10 versions x 10 metrics take %d bytes, over half the budget", n)
	}
}

// TestUserAnnotationsLeaveNoRoom fills a Service's annotations with the
// user's own, up to just under Kubernetes's 256 KiB limit on all of them,
// so that the API server itself refuses iter8's write. iter8 must refuse
// the event permanently, saying why, rather than answer a retried status
// that no retry can cure.
func TestUserAnnotationsLeaveNoRoom(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	e := newEnv(ctx, t, "v1", "v2")
	const key = "notes.example.com/runbook"
	// The user's write retries its conflicts, as any writer must.
	err := cluster.UpdateService(ctx, e.sv.ServingV1().Services(e.ns), "shop", func(svc *servingv1.Service) {
		used := 0
		for k, v := range svc.Annotations {
			used += len(k) + len(v)
		}
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations[key] = strings.Repeat("x", 256<<10-used-len(key)-200)
	})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := deliver.New(events.TypeExperimentStart, "start", e.subject("shop"), []byte(longCanary("shop-v1", "shop-v2")))
	r, err := e.client.Post(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answer: %d %s", r.Status, strings.TrimSpace(r.Body))
	if events.Retried(r.Status) || r.Status < 400 || !strings.Contains(r.Body, "annotations") {
		t.Errorf("answer %d: want a permanent 4xx naming the annotations, since no redelivery can fit them", r.Status)
	}
	if got := e.service(ctx, t, "shop"); got.Annotations[store.AnnotationState] != "" {
		t.Errorf("the experiment was written after all")
	}
}
