package stack

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// Truth is how a stand-in revision really behaves: each request takes a
// latency drawn from a two-part mixture (Slow with probability SlowShare,
// else uniform in [Fast, 2·Fast)) and fails with a 500 with probability
// ErrorRate. With SlowShare above 1-q the true q-quantile is Slow; with
// SlowShare 0 it lies in [Fast, 2·Fast).
type Truth struct {
	Fast, Slow time.Duration
	SlowShare  float64
	ErrorRate  float64
	Seed       uint64
}

// Revision is a real HTTP server, in the test process, standing in for a
// revision's pods: the cluster proxy routes the revision's tag host to it,
// so that the functions' load generator reaches it as it would reach a
// Knative revision through its tag URL.
type Revision struct {
	Addr string
	srv  *http.Server

	mu     sync.Mutex
	rng    *rand.Rand
	truth  Truth
	served int64
	failed int64
}

// StartRevision serves truth on a loopback port.
func StartRevision(truth Truth) (*Revision, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stand-in revision: %w", err)
	}
	r := &Revision{Addr: l.Addr().String(), truth: truth, rng: rand.New(rand.NewPCG(truth.Seed, truth.Seed^0x9e3779b97f4a7c15))}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

// ServeHTTP draws the request's latency and outcome, sleeps and answers.
func (r *Revision) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	t := r.truth
	delay := t.Fast + time.Duration(r.rng.Float64()*float64(t.Fast))
	if r.rng.Float64() < t.SlowShare {
		delay = t.Slow
	}
	fail := r.rng.Float64() < t.ErrorRate
	r.served++
	if fail {
		r.failed++
	}
	r.mu.Unlock()
	time.Sleep(delay)
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Served returns the requests served and failed so far.
func (r *Revision) Served() (served, failed int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.served, r.failed
}

// Stop closes the server.
func (r *Revision) Stop() { _ = r.srv.Close() }

// TagRevision sends all of ns/service's traffic to revision under tag, as
// `kn service update SERVICE --traffic REVISION=100 --tag REVISION=TAG`
// would: the tag gives the revision the URL the load goes to.
func (s *Stack) TagRevision(ctx context.Context, ns, service, revision, tag string) error {
	sv, err := servingclient.NewForConfig(s.Cluster.Config)
	if err != nil {
		return err
	}
	return cluster.UpdateService(ctx, sv.ServingV1().Services(ns), service, func(svc *servingv1.Service) {
		svc.Spec.Traffic = []servingv1.TrafficTarget{{RevisionName: revision, Tag: tag, Percent: ptr.Int64(100), LatestRevision: ptr.Bool(false)}}
	})
}

// RouteTag waits until the Route of ns/service gives revision a tag URL and
// routes that URL's host to r, so that the load reaches r; it returns the
// tag URL.
func (s *Stack) RouteTag(ctx context.Context, ns, service, revision string, r *Revision) (string, error) {
	sv, err := servingclient.NewForConfig(s.Cluster.Config)
	if err != nil {
		return "", err
	}
	var tagURL string
	var last []servingv1.TrafficTarget
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		svc, err := sv.ServingV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = svc.Status.Traffic
		for _, t := range svc.Status.Traffic {
			if t.RevisionName == revision && t.Tag != "" && t.URL != nil {
				tagURL = t.URL.String()
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("service %s/%s: no tag URL for %s in the Route's status (status.traffic %+v): %w", ns, service, revision, last, err)
	}
	u, err := url.Parse(tagURL)
	if err != nil {
		return "", err
	}
	if err := s.Cluster.Route(u.Hostname(), r.Addr); err != nil {
		return "", err
	}
	s.Logf("load: %s routed to the stand-in revision at %s", tagURL, r.Addr)
	return tagURL, nil
}

// StartLoad sends the start event of spec for ns/service.
func (s *Stack) StartLoad(ctx context.Context, ns, service string, spec events.ExperimentSpec) error {
	_, reply, err := s.Send(ctx, events.TypeExperimentStart, events.Subject(ns, service), spec)
	if err != nil {
		return err
	}
	if reply == nil || reply.Type() != events.TypeExperimentStarted {
		return fmt.Errorf("start: no %s reply", events.TypeExperimentStarted)
	}
	return nil
}

// RunLoad sends PingSource ticks, one after the other, until the
// experiment on ns/service ends or maxTicks have been sent; each tick
// makes the functions send one burst of load and fold it in. No other
// traffic or metrics reach the experiment. onTick, if set, sees the
// record after each tick.
func (s *Stack) RunLoad(ctx context.Context, ns, service string, maxTicks int, onTick func(i int, rec store.Record)) (store.Record, error) {
	var rec store.Record
	for i := range maxTicks {
		if err := s.Tick(ctx, fmt.Sprintf("%s-%s-load-tick-%d", ns, service, i)); err != nil {
			s.Logf("load: tick %d: %v (retried by the next tick)", i, err)
		}
		var err error
		if rec, err = s.Store.Get(ctx, ns, service); err != nil {
			return rec, err
		}
		if onTick != nil {
			onTick(i, rec)
		}
		if p := rec.State.Phase; p == experiment.PhaseCompleted || p == experiment.PhaseFailed {
			return rec, nil
		}
	}
	return rec, fmt.Errorf("load: no decision after %d ticks: %s", maxTicks, rec.State.Reason)
}
