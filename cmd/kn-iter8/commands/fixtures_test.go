package commands

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingfake "knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// The recorded Services under testdata/ are real experiments: the engine
// ran on synthetic traffic and pkg/store wrote each step onto a Service, as
// the functions do. They are recorded once, rather than re-run in every
// test, so that the golden views change only when the views change, not
// whenever the statistics engine is retuned. Re-record them with
//
//	go test ./cmd/kn-iter8/commands -run TestRecordFixtures -record
var record = flag.Bool("record", false, "re-run the engine and rewrite the recorded Services in testdata/")

// t0 is when every recorded experiment starts; window is how often the
// collector observes.
var (
	t0     = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	window = 5 * time.Minute
)

// version is a simulated revision's true behaviour.
type version struct {
	errRate    float64
	conversion float64
	latencyMS  float64 // median; latencies are log-normal
}

type scenario struct {
	file    string
	ns      string
	service string
	spec    events.ExperimentSpec
	truth   []version
	// requests per window over all versions.
	requests int
	// windows is the most windows to observe; fewer if it ends first.
	windows int
	// failAfter, when set, fails the experiment after that many windows,
	// as the functions do when a revision vanishes.
	failAfter int
	failWhy   string
}

func f64(v float64) *float64 { return &v }
func iptr(v int) *int        { return &v }

func scenarios() []scenario {
	latency := []events.MetricSpec{
		{Name: "errors", Type: events.MetricRatio},
		{Name: "latency", Type: events.MetricMean, Unit: "ms", Max: f64(5000)},
		{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms", Buckets: []float64{25, 50, 100, 150, 200, 250, 350, 500}},
	}
	return []scenario{{
		file: "shop", ns: "default", service: "shop",
		spec: events.ExperimentSpec{
			Kind: events.KindCanary, Baseline: "shop-v1", Candidates: []string{"shop-v2"},
			Metrics: latency,
			Objectives: []events.Objective{
				{Metric: "errors", UpperLimit: f64(0.01)},
				{Metric: "latency", UpperLimitRelative: f64(1.1)},
				{Metric: "latency-p95", UpperLimit: f64(250)},
			},
			Traffic: events.TrafficSpec{InitialCandidatePercent: iptr(10), MaxIncrement: iptr(20)},
			Limits:  events.Limits{MaxDuration: &events.Duration{Duration: 6 * time.Hour}, MinSamples: 200},
		},
		truth:    []version{{errRate: 0.004, latencyMS: 80}, {errRate: 0.005, latencyMS: 82}},
		requests: 400, windows: 6,
	}, {
		file: "frontend", ns: "shop", service: "frontend",
		spec: events.ExperimentSpec{
			Kind: events.KindABN, Baseline: "frontend-v1", Candidates: []string{"frontend-v2", "frontend-v3"},
			Metrics: []events.MetricSpec{
				{Name: "conversion", Type: events.MetricRatio},
				{Name: "errors", Type: events.MetricRatio},
			},
			Objectives: []events.Objective{{Metric: "errors", UpperLimit: f64(0.02)}},
			Reward:     &events.Reward{Metric: "conversion"},
		},
		truth:    []version{{errRate: 0.005, conversion: 0.10}, {errRate: 0.006, conversion: 0.118}, {errRate: 0.03, conversion: 0.115}},
		requests: 900, windows: 8,
	}, {
		file: "checkout", ns: "shop", service: "checkout",
		spec: events.ExperimentSpec{
			Kind: events.KindAB, Baseline: "checkout-v1", Candidates: []string{"checkout-v2"},
			Metrics: []events.MetricSpec{
				{Name: "conversion", Type: events.MetricRatio},
				{Name: "latency", Type: events.MetricMean, Unit: "ms", Max: f64(5000)},
			},
			Objectives: []events.Objective{{Metric: "latency", UpperLimit: f64(300)}},
			Reward:     &events.Reward{Metric: "conversion"},
		},
		truth:    []version{{conversion: 0.08, latencyMS: 120}, {conversion: 0.13, latencyMS: 125}},
		requests: 3000, windows: 40,
	}, {
		file: "search", ns: "default", service: "search",
		spec: events.ExperimentSpec{
			Kind: events.KindCanary, Baseline: "search-v1", Candidates: []string{"search-v2"},
			Metrics:    []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}},
			Objectives: []events.Objective{{Metric: "errors", UpperLimit: f64(0.01)}},
		},
		truth:    []version{{errRate: 0.002}, {errRate: 0.002}},
		requests: 300, windows: 3, failAfter: 2, failWhy: "revision search-v2 was deleted",
	}}
}

// observe draws one window of requests: each version gets its share of
// traffic (equal shares when the experiment moves none), and every request
// is an error, a conversion and a latency drawn from the version's truth.
func (sc scenario) observe(st experiment.State, k int, rng *rand.Rand) events.MetricsObserved {
	obs := events.MetricsObserved{
		Window:   events.Window{Start: events.Time{Time: t0.Add(time.Duration(k) * window)}, End: events.Time{Time: t0.Add(time.Duration(k+1) * window)}},
		Versions: map[string]map[string]events.Observation{},
	}
	for i, v := range st.Versions {
		share := 100 / len(st.Versions)
		if st.Traffic != nil {
			share = st.Traffic[v]
		}
		n := sc.requests * share / 100
		if n == 0 {
			continue
		}
		truth := sc.truth[i]
		var errs, conv int64
		var sum, sumSq float64
		lat := make([]float64, n)
		for r := range n {
			if rng.Float64() < truth.errRate {
				errs++
			}
			if rng.Float64() < truth.conversion {
				conv++
			}
			lat[r] = truth.latencyMS * math.Exp(0.35*rng.NormFloat64())
			sum += lat[r]
			sumSq += lat[r] * lat[r]
		}
		metrics := map[string]events.Observation{}
		trials := int64(n)
		for _, m := range sc.spec.Metrics {
			switch {
			case m.Name == "errors":
				metrics[m.Name] = events.Observation{Successes: ptrTo(errs), Trials: ptrTo(trials)}
			case m.Name == "conversion":
				metrics[m.Name] = events.Observation{Successes: ptrTo(conv), Trials: ptrTo(trials)}
			case m.Type == events.MetricMean:
				metrics[m.Name] = events.Observation{Count: ptrTo(trials), Sum: ptrTo(sum), SumSquares: ptrTo(sumSq)}
			case m.Type == events.MetricQuantile:
				counts := make([]int64, len(m.Buckets)+1)
				for _, x := range lat {
					b := len(m.Buckets)
					for j, ub := range m.Buckets {
						if x <= ub {
							b = j
							break
						}
					}
					counts[b]++
				}
				metrics[m.Name] = events.Observation{Bounds: m.Buckets, Counts: counts}
			}
		}
		obs.Versions[v] = metrics
	}
	return obs
}

func ptrTo[T any](v T) *T { return &v }

// baseService is a Service as `kn service create` and two `kn service
// update --revision-name` leave it, opted in to iter8.
func baseService(ns, name string, revisions []string) *servingv1.Service {
	svc := &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{store.LabelEnabled: "true"}},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Name: revisions[len(revisions)-1]},
			Spec:       servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: "registry.example.com/" + name + ":latest"}}}},
		}}},
	}
	last := revisions[len(revisions)-1]
	svc.Status.LatestCreatedRevisionName, svc.Status.LatestReadyRevisionName = last, last
	return svc
}

// run plays sc through the engine and the store and returns the Service as
// the store left it.
func (sc scenario) run(t *testing.T) *servingv1.Service {
	t.Helper()
	ctx := context.Background()
	spec := sc.spec.Defaulted()
	client := servingfake.NewSimpleClientset(baseService(sc.ns, sc.service, spec.Versions()))
	s := store.New(client.ServingV1())
	update := func(key string, f func(store.Record) (*store.Change, error)) {
		t.Helper()
		if _, err := s.Update(ctx, sc.ns, sc.service, key, f); err != nil {
			t.Fatalf("%s: %s: %v", sc.file, key, err)
		}
	}
	update("start", func(store.Record) (*store.Change, error) {
		st, res, err := experiment.New().Start(spec, sc.file+"-0001", t0.Add(-10*time.Second))
		if err != nil {
			return nil, err
		}
		return &store.Change{Spec: &spec, State: st, Traffic: res.Traffic, Status: experiment.Summary(spec, st)}, nil
	})
	rng := rand.New(rand.NewPCG(7, uint64(len(sc.file))))
	for k := range sc.windows {
		rec, err := s.Get(ctx, sc.ns, sc.service)
		if err != nil {
			t.Fatal(err)
		}
		if rec.State.Phase != experiment.PhaseRunning {
			break
		}
		now := t0.Add(time.Duration(k+1)*window + 10*time.Second)
		if sc.failAfter > 0 && k == sc.failAfter {
			update("fail", func(r store.Record) (*store.Change, error) {
				st, _, err := experiment.New().Fail(*r.Spec, *r.State, experiment.Failure{Reason: sc.failWhy}, now)
				return &store.Change{State: st, Status: experiment.Summary(*r.Spec, st)}, err
			})
			break
		}
		obs := sc.observe(*rec.State, k, rng)
		update(fmt.Sprintf("window-%d", k), func(r store.Record) (*store.Change, error) {
			st, res, err := experiment.New().Observe(*r.Spec, *r.State, obs, now)
			if err != nil {
				return nil, err
			}
			ch := &store.Change{State: st, Traffic: res.Traffic, Status: experiment.Summary(*r.Spec, st)}
			for _, o := range res.Emit {
				if a, ok := o.Data.(events.Assessed); ok {
					a.Service = sc.service
					ch.Assessment = &a
				}
			}
			return ch, nil
		})
	}
	svc, err := client.ServingV1().Services(sc.ns).Get(ctx, sc.service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.ResourceVersion = ""
	return svc
}

// TestRecordFixtures rewrites testdata/*.service.json with -record; without
// it, it checks that every recorded Service still decodes.
func TestRecordFixtures(t *testing.T) {
	for _, sc := range scenarios() {
		path := filepath.Join("..", "testdata", sc.file+".service.json")
		if *record {
			svc := sc.run(t)
			b, err := json.MarshalIndent(svc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", path, svc.Annotations[store.AnnotationStatus])
		}
		svc := loadService(t, sc.file)
		client := servingfake.NewSimpleClientset(svc)
		rec, err := store.New(client.ServingV1()).Get(context.Background(), sc.ns, sc.service)
		if err != nil {
			t.Fatalf("%s: %v (re-record with -record)", path, err)
		}
		if rec.State == nil || rec.State.Iteration == 0 {
			t.Errorf("%s: recorded no iteration", path)
		}
	}
}

// loadService reads a recorded Service.
func loadService(t *testing.T, file string) *servingv1.Service {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", file+".service.json"))
	if err != nil {
		t.Fatalf("%v (record the fixtures with -record)", err)
	}
	var svc servingv1.Service
	if err := json.Unmarshal(b, &svc); err != nil {
		t.Fatal(err)
	}
	return &svc
}
