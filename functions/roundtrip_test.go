package functions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

// FuzzRoundTrip drives the handlers with random specs, windows, controls,
// ticks and faults (duplicates, write conflicts, an unavailable API server,
// a vanished revision, a small annotation budget), and checks after every
// event that what they wrote to the Service decodes in a fresh process (a
// new Store: no decode cache) to the same experiment the writing process
// holds, that the Service's traffic is the split the state holds, and that
// no answer is an unclassified 500. Each input is a seed of the sequence.
func FuzzRoundTrip(f *testing.F) {
	for seed := range uint64(24) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		newSequence(t, seed).run(t, 30)
	})
}

type sequence struct {
	rng      *rand.Rand
	cs       *fake.Clientset
	h        *Handlers
	now      time.Time
	spec     events.ExperimentSpec
	bounds   map[string][]float64 // histogram bounds per quantile metric
	sent     []cloudevents.Event
	fault    error // the next Service write fails with it, once
	tick     error // the scripted collector's next answer
	versions []string
}

func newSequence(t *testing.T, seed uint64) *sequence {
	s := &sequence{rng: rand.New(rand.NewPCG(seed, ter8)), now: t0, bounds: map[string][]float64{}}
	s.spec = s.randomSpec(t)
	s.versions = s.spec.Versions()
	objs := []runtime.Object{service("shop", true)}
	for _, v := range s.versions {
		objs = append(objs, revision("shop", v))
	}
	s.cs = fake.NewSimpleClientset(objs...)
	s.cs.PrependReactor("update", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "" {
			return false, nil, nil
		}
		err := s.fault
		s.fault = nil
		return err != nil, nil, err
	})
	var storeOpts []store.Option
	if s.rng.IntN(3) == 0 {
		storeOpts = append(storeOpts, store.WithBudget(4000+s.rng.IntN(6000)))
	}
	s.h = handlersOver(s.cs, storeOpts, WithClock(func() time.Time { return s.now }), WithCollector(s))
	return s
}

const ter8 = 0x17e8

func (s *sequence) randomSpec(t *testing.T) events.ExperimentSpec {
	for range 20 {
		spec := events.ExperimentSpec{Baseline: "shop-v1", OnFailure: pick(s.rng, "rollback", "keep"), OnSuccess: pick(s.rng, "promote", "keep")}
		spec.Kind = pick(s.rng, events.KindCanary, events.KindAB, events.KindABN, events.KindPerformance)
		n := map[string]int{events.KindCanary: 1, events.KindAB: 1, events.KindABN: 2 + s.rng.IntN(2), events.KindPerformance: 0}[spec.Kind]
		for i := range n {
			spec.Candidates = append(spec.Candidates, fmt.Sprintf("shop-v%d", i+2))
		}
		for i := range 1 + s.rng.IntN(3) {
			m := events.MetricSpec{Name: fmt.Sprintf("m%d", i), Type: pick(s.rng, events.MetricRatio, events.MetricMean, events.MetricQuantile)}
			if m.Type == events.MetricQuantile {
				m.Quantile = 0.5 + 0.49*s.rng.Float64()
				b := make([]float64, 2+s.rng.IntN(14))
				for k := range b {
					b[k] = float64(k+1) * (1 + s.rng.Float64())
					if k > 0 && b[k] <= b[k-1] {
						b[k] = b[k-1] + 1
					}
				}
				s.bounds[m.Name] = b
			}
			if s.rng.IntN(3) == 0 {
				m.OnMissing = events.OnMissingFail
			}
			spec.Metrics = append(spec.Metrics, m)
			limit := map[string]float64{events.MetricRatio: 0.05 + 0.5*s.rng.Float64(), events.MetricMean: 50 + 100*s.rng.Float64(), events.MetricQuantile: 20 * s.rng.Float64()}[m.Type]
			spec.Objectives = append(spec.Objectives, events.Objective{Metric: m.Name, UpperLimit: &limit})
		}
		if spec.Kind == events.KindAB || spec.Kind == events.KindABN {
			spec.Metrics = append(spec.Metrics, events.MetricSpec{Name: "conversion", Type: events.MetricRatio})
			spec.Reward = &events.Reward{Metric: "conversion", Direction: pick(s.rng, "maximize", "minimize")}
		}
		if spec.Kind == events.KindCanary {
			p := 1 + s.rng.IntN(50)
			spec.Traffic.InitialCandidatePercent = &p
		}
		spec.Limits = events.Limits{MinSamples: int64(10 + s.rng.IntN(500)), MaxSamples: int64(2000 + s.rng.IntN(20000)),
			MaxDuration: &events.Duration{Duration: time.Duration(10+s.rng.IntN(60)) * time.Minute}}
		if err := spec.Defaulted().Validate(); err == nil {
			return spec
		} else {
			t.Logf("generated an invalid spec, again: %v", err)
		}
	}
	t.Fatal("no valid spec in 20 draws")
	return events.ExperimentSpec{}
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// Windows is the scripted collector: a window from x.Since to now, or the
// answer set for this tick.
func (s *sequence) Windows(_ context.Context, x collector.Experiment, now time.Time) ([]collector.Window, error) {
	if err := s.tick; err != nil {
		return nil, err
	}
	if !now.After(x.Since) {
		return nil, nil
	}
	obs := s.window(x.Since, now)
	return []collector.Window{{Data: obs}}, nil
}

// window is random data of random versions and metrics over [from, to).
func (s *sequence) window(from, to time.Time) events.MetricsObserved {
	w := events.NewMetricsObserved(from, to)
	for _, v := range s.versions {
		for _, m := range s.spec.Metrics {
			if s.rng.IntN(5) == 0 {
				continue // no data
			}
			n := int64(s.rng.IntN(300))
			switch m.Type {
			case events.MetricRatio:
				w.Set(v, m.Name, events.Ratio(int64(s.rng.Float64()*float64(n)*0.2), n))
			case events.MetricMean:
				mu := 100 * s.rng.Float64()
				w.Set(v, m.Name, events.Mean(n, mu*float64(n), float64(n)*(mu*mu+s.rng.Float64()*50)))
			default:
				counts := make([]int64, len(s.bounds[m.Name])+1)
				for k := range counts {
					counts[k] = int64(s.rng.IntN(40))
				}
				w.Set(v, m.Name, events.Histogram(s.bounds[m.Name], counts))
			}
		}
	}
	if s.rng.IntN(15) == 0 { // a broken producer
		w.Set(s.versions[0], s.spec.Metrics[0].Name, events.Ratio(5, 1))
	}
	return w
}

func (s *sequence) event(t *testing.T, typ string, data any) cloudevents.Event {
	var e cloudevents.Event
	if typ == events.TypePing {
		e = cloudevents.NewEvent()
		e.SetType(typ)
		e.SetSource("/ping")
	} else {
		var err error
		if e, err = events.New(typ, "/fuzz", "default/shop", s.now, data); err != nil {
			// Data events.New refuses (a broken producer) goes out as is.
			e = cloudevents.NewEvent()
			e.SetType(typ)
			e.SetSource("/fuzz")
			e.SetSubject("default/shop")
			if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.SetID(fmt.Sprintf("e-%d", len(s.sent)))
	s.sent = append(s.sent, e)
	return e
}

func (s *sequence) run(t *testing.T, n int) {
	ctx := context.Background()
	answers := map[int]int{}
	defer func() {
		rec, _ := store.New(s.cs.ServingV1()).Get(ctx, "default", "shop")
		if rec.State != nil {
			t.Logf("%s experiment %s ended %s (%s); answers %v", s.spec.Kind, rec.State.ID, rec.State.Phase, rec.State.Reason, answers)
		}
	}()
	send := func(what string, e cloudevents.Event) {
		_, err := s.h.Route(ctx, e)
		code := events.StatusOf(err)
		answers[code]++
		if code == http.StatusInternalServerError {
			t.Errorf("%s: an unclassified error: %v", what, err)
		}
		s.check(t, what)
	}
	send("start", s.event(t, events.TypeExperimentStart, s.spec))
	for i := range n {
		s.now = s.now.Add(time.Duration(1+s.rng.IntN(120)) * time.Second)
		if s.rng.IntN(6) == 0 {
			s.fault = pick[error](s.rng,
				apierrors.NewConflict(schema.GroupResource{Group: "serving.knative.dev", Resource: "services"}, "shop", errors.New("conflict")),
				apierrors.NewServiceUnavailable("down"))
		}
		r := s.rng.IntN(20)
		if rec, err := s.h.store.Get(ctx, "default", "shop"); err == nil && rec.State != nil && !isRunning(rec.State.Phase) && s.rng.IntN(2) == 0 {
			r = 18 // start another
		}
		if r == 19 && i < 2*n/3 {
			r = 0 // revisions vanish late, since nothing can start after
		}
		switch {
		case r < 9:
			from := s.now.Add(-time.Minute).In(time.FixedZone("", (s.rng.IntN(47)-23)*3600+s.rng.IntN(60)*60))
			from = from.Add(time.Duration(s.rng.IntN(1e9)))
			send(fmt.Sprintf("%d window", i), s.event(t, events.TypeMetricsObserved, s.window(from, from.Add(time.Minute))))
		case r < 11 && len(s.sent) > 0:
			send(fmt.Sprintf("%d duplicate", i), s.sent[s.rng.IntN(len(s.sent))])
		case r < 14:
			c := events.Control{Action: pick(s.rng, events.ActionPause, events.ActionResume, events.ActionAbort, events.ActionPromote), Reason: "fuzz"}
			if c.Action == events.ActionPromote {
				c.Version = pick(s.rng, append(s.versions, "shop-v9")...)
			}
			send(fmt.Sprintf("%d control %s", i, c.Action), s.event(t, events.TypeExperimentControl, c))
		case r < 18:
			s.tick = pick[error](s.rng, nil, nil, nil, nil, nil, &collector.MissingError{Gaps: collector.Missing{{Version: s.versions[0], Metric: s.spec.Metrics[0].Name, Fail: true, Reason: "none"}}},
				events.Transient(http.StatusServiceUnavailable, errors.New("prometheus down")))
			send(fmt.Sprintf("%d tick", i), s.event(t, events.TypePing, nil))
		case r < 19:
			send(fmt.Sprintf("%d restart", i), s.event(t, events.TypeExperimentStart, s.spec))
		default:
			s.vanish(ctx, t)
			send(fmt.Sprintf("%d window after a revision vanished", i), s.event(t, events.TypeMetricsObserved, s.window(s.now.Add(-time.Minute), s.now)))
		}
	}
}

// vanish deletes a random revision and has the Route say so.
func (s *sequence) vanish(ctx context.Context, t *testing.T) {
	v := pick(s.rng, s.versions...)
	if err := s.cs.ServingV1().Revisions("default").Delete(ctx, v, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	svc, err := s.cs.ServingV1().Services("default").Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.SetConditions(apis.Conditions{{Type: servingv1.ServiceConditionRoutesReady, Status: corev1.ConditionFalse, Reason: "RevisionMissing"}})
	if _, err := s.cs.ServingV1().Services("default").UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

var sameExperiment = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b events.Time) bool { return a.Equal(b.Time) }),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
}

// check compares the writing process's view of the Service with a fresh
// process's, and the Service's traffic with the state's.
func (s *sequence) check(t *testing.T, what string) {
	t.Helper()
	ctx := context.Background()
	mine, err := s.h.store.Get(ctx, "default", "shop")
	if err != nil {
		t.Fatalf("%s: the writer cannot read the Service: %v", what, err)
	}
	theirs, err := store.New(s.cs.ServingV1()).Get(ctx, "default", "shop")
	if err != nil {
		t.Fatalf("%s: a fresh process cannot read what was written: %v", what, err)
	}
	if diff := cmp.Diff(mine.Spec, theirs.Spec, sameExperiment); diff != "" {
		t.Fatalf("%s: the spec differs in a fresh process (-writer +fresh):\n%s", what, diff)
	}
	if diff := cmp.Diff(mine.State, theirs.State, sameExperiment); diff != "" {
		t.Fatalf("%s: the state differs in a fresh process (-writer +fresh):\n%s", what, diff)
	}
	if theirs.State == nil {
		return
	}
	if _, _, err := experiment.New().Tick(*theirs.Spec, *theirs.State, s.now); err != nil && !errors.Is(err, experiment.ErrNotRunning) {
		t.Fatalf("%s: the engine refuses the state a fresh process reads: %v", what, err)
	}
	for _, tt := range theirs.Service.Spec.Traffic {
		if p, ok := theirs.State.Traffic[tt.RevisionName]; !ok || int64(p) != *tt.Percent {
			t.Fatalf("%s: spec.traffic gives %s %d%%, the state %v", what, tt.RevisionName, *tt.Percent, theirs.State.Traffic)
		}
	}
}
