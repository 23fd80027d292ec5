package stack

import (
	"context"
	"fmt"
	"maps"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// Experiment is one end-to-end run of a scenario on a Service.
type Experiment struct {
	Namespace string
	Service   string
	Scenario  simulate.Scenario
	Seed      uint64
	// Interval is the simulated length of one metrics window.
	Interval time.Duration
	// OnWindow is called after each window is applied, with the window's
	// index, the split the traffic simulator read from the Route and the
	// Service's record after the window.
	OnWindow func(i int, routed map[string]int, rec store.Record) error
	// Before is called before each window; a test pauses or aborts here.
	Before func(ctx context.Context, i int) error
}

// Revision is the revision name of a scenario version.
func (x Experiment) Revision(version string) string { return x.Service + "-" + version }

// Spec is the scenario's experiment spec with versions named as revisions.
func (x Experiment) Spec() events.ExperimentSpec {
	spec := x.Scenario.Experiment
	spec.Baseline = x.Revision(spec.Baseline)
	spec.Candidates = nil
	for _, c := range x.Scenario.Experiment.Candidates {
		spec.Candidates = append(spec.Candidates, x.Revision(c))
	}
	return spec
}

// Deploy deploys every version of the scenario as a revision, in order, as
// `kn service update --revision-name` would.
func (s *Stack) Deploy(ctx context.Context, x Experiment) error {
	versions := x.Scenario.Experiment.Versions()
	s.Logf("deploy: service %s/%s, revisions %v", x.Namespace, x.Service, versions)
	return s.Cluster.DeployRevisions(ctx, x.Namespace, x.Service, Image, versions...)
}

// StartExperiment sends the start event.
func (s *Stack) StartExperiment(ctx context.Context, x Experiment) error {
	return s.start(ctx, x, x.Spec())
}

// start sends the start event of x's Service with spec and checks that it
// is answered with experiment.started.
func (s *Stack) start(ctx context.Context, x Experiment, spec events.ExperimentSpec) error {
	_, reply, err := s.Send(ctx, events.TypeExperimentStart, events.Subject(x.Namespace, x.Service), spec)
	if err != nil {
		return err
	}
	if reply == nil || reply.Type() != events.TypeExperimentStarted {
		return fmt.Errorf("start: no %s reply", events.TypeExperimentStarted)
	}
	return nil
}

// routed waits until the Route has caught up with the Service's latest
// spec (as real traffic would, a moment after each change) and returns the
// Service.
func (s *Stack) routed(ctx context.Context, sv servingclient.Interface, x Experiment) (*servingv1.Service, error) {
	var svc *servingv1.Service
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		svc, err = sv.ServingV1().Services(x.Namespace).Get(ctx, x.Service, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return caughtUp(svc), nil
	})
	if err != nil {
		return nil, fmt.Errorf("service %s/%s: the Route did not catch up with spec.traffic: %w", x.Namespace, x.Service, err)
	}
	return svc, nil
}

// caughtUp reports whether svc's status says its Route serves its spec:
// the latest generation observed, Ready, and, when spec.traffic names its
// revisions, status.traffic giving each the same percent. Generation and
// Ready alone are not enough. A Service reconcile that fails to update the
// Route (a conflict, when its Route cache lags under load) still bumps
// status.observedGeneration, as knative.dev/pkg's PostProcessReconcile does
// "regardless of success or failure"; and Ready can stay True, recomputed
// from RoutesReady as the last status left it. For a moment the old split
// then reads as the new one: a busy CI run served a window at 70/30 after
// the experiment had set 50/50 (TestCollectorFanOutAcrossReplicas).
func caughtUp(svc *servingv1.Service) bool {
	if svc.Status.ObservedGeneration != svc.Generation || !svc.IsReady() {
		return false
	}
	want, named := cluster.Split(svc.Spec.Traffic)
	if !named {
		return true
	}
	got, _ := cluster.Split(svc.Status.Traffic)
	return maps.Equal(want, got)
}

// before runs x.Before for window i, if any, and reports whether the
// experiment has ended, with its record.
func (s *Stack) before(ctx context.Context, x Experiment, i int) (store.Record, bool, error) {
	if x.Before == nil {
		return store.Record{}, false, nil
	}
	if err := x.Before(ctx, i); err != nil {
		return store.Record{}, false, err
	}
	rec, err := s.Store.Get(ctx, x.Namespace, x.Service)
	if err != nil {
		return rec, false, err
	}
	p := rec.State.Phase
	return rec, p == experiment.PhaseCompleted || p == experiment.PhaseFailed, nil
}

// routedSplit reads the split the Route serves, once it has caught up, by
// revision and by scenario version: the generator speaks versions, the
// Route revisions.
func (s *Stack) routedSplit(ctx context.Context, sv servingclient.Interface, x Experiment) (routed, split map[string]int, err error) {
	svc, err := s.routed(ctx, sv, x)
	if err != nil {
		return nil, nil, err
	}
	routed, _ = cluster.Split(svc.Status.Traffic)
	split = map[string]int{}
	for _, v := range x.Scenario.Experiment.Versions() {
		split[v] = routed[x.Revision(v)]
	}
	return routed, split, nil
}

// Run drives traffic until the experiment ends or the scenario's horizon:
// each window it reads the split the Route serves (status.traffic), draws
// that many requests per revision from the scenario's truth, and sends the
// aggregates to the functions. It returns the final record.
func (s *Stack) Run(ctx context.Context, x Experiment) (store.Record, error) {
	gen, err := simulate.NewGenerator(x.Scenario, x.Seed)
	if err != nil {
		return store.Record{}, err
	}
	sv, err := servingclient.NewForConfig(s.Cluster.Config)
	if err != nil {
		return store.Record{}, err
	}
	if x.Interval == 0 {
		x.Interval = time.Minute
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	var rec store.Record
	for i := 0; i < x.Scenario.Traffic.MaxIntervals; i++ {
		if r, ended, err := s.before(ctx, x, i); err != nil || ended {
			return r, err
		}
		routed, split, err := s.routedSplit(ctx, sv, x)
		if err != nil {
			return rec, err
		}
		start := t0.Add(time.Duration(i) * x.Interval)
		w := gen.Window(start, start.Add(x.Interval), x.Scenario.Traffic.RequestsPerInterval, split)
		obs := events.NewMetricsObserved(w.Window.Start.Time, w.Window.End.Time)
		for v, ms := range w.Versions {
			for m, o := range ms {
				obs.Set(x.Revision(v), m, o)
			}
		}
		if _, _, err := s.Send(ctx, events.TypeMetricsObserved, events.Subject(x.Namespace, x.Service), obs); err != nil {
			return rec, fmt.Errorf("window %d: %w", i, err)
		}
		if rec, err = s.Store.Get(ctx, x.Namespace, x.Service); err != nil {
			return rec, err
		}
		if x.OnWindow != nil {
			if err := x.OnWindow(i, maps.Clone(routed), rec); err != nil {
				return rec, err
			}
		}
		if p := rec.State.Phase; p == experiment.PhaseCompleted || p == experiment.PhaseFailed {
			return rec, nil
		}
	}
	return rec, nil
}
