package integration

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	authv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"
	"sigs.k8s.io/yaml"

	"github.com/iter8-knative/iter8/config"
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// recorder notes the Kubernetes API calls made through it, as RBAC sees
// them: API group, resource and verb.
type recorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls map[string]bool // group/resource:verb
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if call := rbacCall(req); call != "" {
		r.mu.Lock()
		r.calls[call] = true
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func (r *recorder) set() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for c := range r.calls {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// rbacCall maps a request to the RBAC attributes the API server checks:
// /apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]] (or
// /api/v1/... for the core group) and the verb its method and shape mean.
func rbacCall(req *http.Request) string {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	var group string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		group, parts = parts[1], parts[3:]
	default:
		return ""
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) == 0 {
		return ""
	}
	resource, named := parts[0], len(parts) >= 2
	if len(parts) >= 3 {
		resource += "/" + parts[2]
	}
	verb := map[string]string{http.MethodPost: "create", http.MethodPut: "update", http.MethodPatch: "patch", http.MethodDelete: "delete"}[req.Method]
	if req.Method == http.MethodGet {
		switch {
		case req.URL.Query().Get("watch") == "true":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	}
	return group + "/" + resource + ":" + verb
}

// granted lists what a manifest's (Cluster)Role grants, in rbacCall's form.
func granted(t *testing.T, file string) []string {
	t.Helper()
	b, err := config.Manifests.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.Role
	if err := yaml.Unmarshal([]byte(strings.SplitN(string(b), "\n---\n", 2)[0]), &role); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, g+"/"+res+":"+v)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// asFunctions returns a client configuration that authenticates as the
// functions' service account, with a real token, and records its calls.
func asFunctions(ctx context.Context, t *testing.T, c *cluster.Cluster) (*rest.Config, *recorder) {
	t.Helper()
	tok, err := kubernetes.NewForConfigOrDie(c.Config).CoreV1().ServiceAccounts("iter8-system").CreateToken(ctx, "iter8-functions",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptrTo[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	cfg := rest.AnonymousClientConfig(c.Config)
	cfg.BearerToken = tok.Status.Token
	rec := &recorder{calls: map[string]bool{}}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec }
	return cfg, rec
}

const rbacSpec = `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.01}],
 "limits":{"maxDuration":"10m"}}`

// drive runs every handler against Service shop in ns as h: a start, a
// window, pause, resume, and a tick after maxDuration, which must end the
// experiment. clock is h's clock.
func drive(ctx context.Context, t *testing.T, h *functions.Handlers, clock *time.Time, ns string) {
	t.Helper()
	subject := ns + "/shop"
	w := events.NewMetricsObserved(*clock, clock.Add(time.Minute))
	w.Set("shop-v1", "errors", events.Ratio(0, 100))
	w.Set("shop-v2", "errors", events.Ratio(0, 10))
	steps := []struct {
		name string
		e    cloudevents.Event
	}{
		{"start", newEvent(t, events.TypeExperimentStart, "start", subject, json.RawMessage(rbacSpec))},
		{"window", newEvent(t, events.TypeMetricsObserved, "w0", subject, w)},
		{"pause", newEvent(t, events.TypeExperimentControl, "pause", subject, events.Control{Action: events.ActionPause})},
		{"resume", newEvent(t, events.TypeExperimentControl, "resume", subject, events.Control{Action: events.ActionResume})},
	}
	for _, s := range steps {
		if _, err := h.Route(ctx, s.e); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	*clock = clock.Add(time.Hour)
	tick := cloudevents.NewEvent()
	tick.SetID("tick")
	tick.SetSource("/apis/v1/namespaces/iter8-system/pingsources/iter8-collect")
	tick.SetType(events.TypePing)
	if _, err := h.Route(ctx, tick); err != nil {
		t.Fatalf("tick: %v", err)
	}
	r, err := store.New(servingclient.NewForConfigOrDie(cluster.Shared(t).Config).ServingV1()).Get(ctx, ns, "shop")
	if err != nil || r.State == nil || r.Service.Labels[store.LabelPhase] == "running" {
		t.Fatalf("after the tick past maxDuration: %v %+v: the tick did not reach the experiment", err, r.State)
	}
}

// TestRBACDerivedFromCalls runs every handler, the tick included, as the
// functions' service account against the real API server, under each RBAC
// variant of config/ in turn: the per-namespace Role with the tick limited
// to its namespace (ITER8_NAMESPACES), then the ClusterRole with the tick
// across all namespaces. It records the API calls made and compares them
// with the rules both ways: every call is granted, and every grant is used.
// So the Roles are exactly what the code needs, and the tick works under
// both. Under the Role, a tick without the namespace list is refused.
func TestRBACDerivedFromCalls(t *testing.T) {
	c := cluster.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Run("per-namespace Role", func(t *testing.T) {
		ns := c.Namespace(t)
		applyConfig(ctx, t, c, ns)
		if err := c.DeployRevisions(ctx, ns, "shop", image, "v1", "v2"); err != nil {
			t.Fatal(err)
		}
		cfg, rec := asFunctions(ctx, t, c)
		st := store.New(servingclient.NewForConfigOrDie(cfg).ServingV1())
		clock := time.Now()
		h := functions.New(st, functions.WithNamespaces(ns), functions.WithLogger(log), functions.WithClock(func() time.Time { return clock }))
		drive(ctx, t, h, &clock, ns)
		compare(t, rec.set(), granted(t, "namespaced/201-role.yaml"))

		// The same Role with a tick across all namespaces: refused, as a
		// retried 503 that names the refusal.
		all := functions.New(st, functions.WithLogger(log))
		tick := cloudevents.NewEvent()
		tick.SetID("tick-all")
		tick.SetSource("/test")
		tick.SetType(events.TypePing)
		if _, err := all.Route(ctx, tick); events.StatusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "forbidden") {
			t.Errorf("tick across all namespaces under the Role: %v, want a 503 naming the refusal", err)
		}
	})

	t.Run("ClusterRole", func(t *testing.T) {
		ns := c.Namespace(t)
		applyConfig(ctx, t, c, c.Namespace(t)) // the service account; the Role goes elsewhere
		b, _ := config.Manifests.ReadFile("cluster-wide/202-clusterrole.yaml")
		if _, err := c.ApplyManifest(ctx, b, func(*unstructured.Unstructured) bool { return true }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			rb := kubernetes.NewForConfigOrDie(c.Config).RbacV1()
			_ = rb.ClusterRoleBindings().Delete(context.Background(), "iter8-experiments", metav1.DeleteOptions{})
			_ = rb.ClusterRoles().Delete(context.Background(), "iter8-experiments", metav1.DeleteOptions{})
		})
		if err := c.DeployRevisions(ctx, ns, "shop", image, "v1", "v2"); err != nil {
			t.Fatal(err)
		}
		cfg, rec := asFunctions(ctx, t, c)
		st := store.New(servingclient.NewForConfigOrDie(cfg).ServingV1())
		clock := time.Now()
		h := functions.New(st, functions.WithLogger(log), functions.WithClock(func() time.Time { return clock }))
		drive(ctx, t, h, &clock, ns)
		compare(t, rec.set(), granted(t, "cluster-wide/202-clusterrole.yaml"))
	})
}

func compare(t *testing.T, used, rules []string) {
	t.Helper()
	t.Logf("calls made: %v", used)
	for _, u := range used {
		if !slices.Contains(rules, u) {
			t.Errorf("the code calls %s, which the Role does not grant", u)
		}
	}
	for _, g := range rules {
		if !slices.Contains(used, g) {
			t.Errorf("the Role grants %s, which the code never calls: remove it", g)
		}
	}
}
