package reliability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// env is one test's namespace, Services and functions process.
type env struct {
	c      *cluster.Cluster
	ns     string
	sv     servingclient.Interface
	store  *store.Store
	fn     *deliver.Functions
	client *deliver.Client
}

// newEnv deploys Service "shop" with the given versions (revisions
// shop-<version>) and starts the real functions binary.
func newEnv(ctx context.Context, t *testing.T, versions ...string) *env {
	t.Helper()
	c := cluster.Shared(t)
	e := &env{c: c, ns: c.Namespace(t), sv: servingclient.NewForConfigOrDie(c.Config)}
	e.store = store.New(e.sv.ServingV1())
	if len(versions) > 0 {
		if err := c.DeployRevisions(ctx, e.ns, "shop", deliver.Image, versions...); err != nil {
			t.Fatal(err)
		}
	}
	e.startFunctions(ctx, t, c.Kubeconfig)
	return e
}

func (e *env) startFunctions(ctx context.Context, t *testing.T, kubeconfig string) {
	t.Helper()
	fn, err := deliver.StartFunctions(ctx, deliver.FunctionsBin(e.c.Root), kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fn.Stop()
		if t.Failed() {
			t.Logf("functions log (tail):\n%s", lastLines(fn.Log(), 30))
		}
	})
	e.fn, e.client = fn, deliver.NewClient(fn.URL)
}

func (e *env) subject(name string) string { return events.Subject(e.ns, name) }

// start starts an experiment on Service name and fails the test unless it
// is accepted.
func (e *env) start(ctx context.Context, t *testing.T, name, spec string) {
	t.Helper()
	ev, _ := deliver.New(events.TypeExperimentStart, "start-"+name, e.subject(name), []byte(spec))
	r, _, err := e.client.Deliver(ctx, ev)
	if err != nil || r.Status != http.StatusOK || r.Type != events.TypeExperimentStarted {
		t.Fatalf("start %s: %v; answer %d %q %s", name, err, r.Status, r.Type, r.Body)
	}
}

func (e *env) record(ctx context.Context, t *testing.T, name string) store.Record {
	t.Helper()
	r, err := e.store.Get(ctx, e.ns, name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	if r.State == nil {
		t.Fatalf("service %s: no experiment", name)
	}
	return r
}

func (e *env) service(ctx context.Context, t *testing.T, name string) *servingv1.Service {
	t.Helper()
	s, err := e.sv.ServingV1().Services(e.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// consistent checks what a reader of the Service must always find: the
// annotations decode, spec.traffic is the state's split, and the phase
// label and status line agree with the state.
func consistent(r store.Record) error {
	if r.State == nil || r.Spec == nil {
		return fmt.Errorf("no experiment")
	}
	if r.State.Traffic != nil {
		// A version at 0% may be listed or absent: a failed experiment's
		// Service no longer names a revision that is gone.
		if d := cmp.Diff(positive(r.State.Traffic), positive(store.Split(r.Service))); d != "" {
			return fmt.Errorf("spec.traffic differs from the state's split (-state +service):\n%s", d)
		}
	}
	if got, want := r.Service.Labels[store.LabelPhase], strings.ToLower(string(r.State.Phase)); got != want {
		return fmt.Errorf("phase label %q, state %q", got, want)
	}
	if s := r.Service.Annotations[store.AnnotationStatus]; !strings.Contains(s, string(r.State.Phase)) {
		return fmt.Errorf("status %q does not say the phase %s", s, r.State.Phase)
	}
	if len(r.State.Data) != len(r.Spec.Versions()) {
		return fmt.Errorf("state has data for %d versions, spec %d", len(r.State.Data), len(r.Spec.Versions()))
	}
	return nil
}

// longCanary is a canary that never decides within a test: minSamples is
// out of reach, and a candidate without errors never violates.
func longCanary(baseline, candidate string) string {
	return fmt.Sprintf(`{"kind":"canary","baseline":%q,"candidates":[%q],
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.5}],
 "limits":{"minSamples":500000,"maxSamples":1000000}}`, baseline, candidate)
}

func positive(split map[string]int) map[string]int {
	out := map[string]int{}
	for v, p := range split {
		if p != 0 {
			out[v] = p
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// window is window i for the canary: trials per version, errors on the
// baseline only.
func window(t *testing.T, subject, id string, i int, v1, v2 string, n1, n2, errs1 int64) deliver.Event {
	t.Helper()
	w := deliver.RatioWindow(i, "errors", map[string]int64{v1: n1, v2: n2}, map[string]int64{v1: errs1})
	e, err := deliver.New(events.TypeMetricsObserved, id, subject, w)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// inProcess serves the functions from this test process, over loopback
// HTTP, against the shared API server with the harness's client limits
// (200 requests/s). Tests use it where the number of events, not the
// binary, matters: bin/iter8-functions keeps client-go's default 5
// requests/s, which caps it at about two events a second.
func (e *env) inProcess(t *testing.T) *deliver.Client {
	t.Helper()
	sv := servingclient.NewForConfigOrDie(e.c.Config)
	st := store.New(sv.ServingV1())
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := functions.NewServer(functions.New(st, functions.WithLogger(log)), st)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("in-process server: %v", err)
		}
	})
	return deliver.NewClient("http://" + ln.Addr().String())
}
