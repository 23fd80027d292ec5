package commands

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/stats"
	"github.com/iter8-knative/iter8/pkg/store"
)

func TestPlanTableAndJSON(t *testing.T) {
	spec := writeFile(t, "e.yaml", validSpec)
	h := newHarness(t, freshService())
	if code := h.run("plan", "fresh", "-f", spec, "--rate", "50", "--baseline", "errors=0.002", "--seed", "2"); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	for _, want := range []string{"Plan:      canary experiment, fresh-v1 vs fresh-v2, 50.0 requests/s", "In time:", "IF BAD", "fresh-v2  errors  0.0150  0.0100"} {
		if !strings.Contains(h.stdout.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, h.stdout)
		}
	}
	h = newHarness(t, freshService())
	if code := h.run("plan", "fresh", "-f", spec, "--rate", "50", "--baseline", "errors=0.002", "--seed", "2", "-o", "json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	var p plan.Plan
	if err := json.Unmarshal(h.stdout.Bytes(), &p); err != nil {
		t.Fatalf("-o json: %v\n%s", err, h.stdout)
	}
	if p.Kind != "canary" || p.Rate != 50 || p.Runs < plan.MinRuns || len(p.Bad) != 1 || p.Assumed["fresh-v1"]["errors"] != 0.002 {
		t.Errorf("-o json: %+v", p)
	}
}

func TestPlanUsageErrors(t *testing.T) {
	spec := writeFile(t, "e.yaml", validSpec)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no rate", []string{"plan", "fresh", "-f", spec, "--baseline", "errors=0.002"}, exitUsage, "no request rate: pass --rate"},
		{"no baseline value", []string{"plan", "fresh", "-f", spec, "--rate", "5"}, exitError, "no value for the baseline's [errors]"},
		{"bad value", []string{"plan", "fresh", "-f", spec, "--rate", "5", "--value", "fresh-v2=1"}, exitUsage, "want VERSION.METRIC=VALUE"},
		{"not a number", []string{"plan", "fresh", "-f", spec, "--rate", "5", "--baseline", "errors=x"}, exitUsage, "--baseline errors=x: not a finite number"},
		{"baseline metric not in the spec", []string{"plan", "fresh", "-f", spec, "--rate", "5", "--baseline", "errors=0.002,conversion=0.1"}, exitUsage,
			`--baseline conversion=0.1: "conversion" is not a metric of the spec (its metrics: errors)`},
		{"version not in the spec", []string{"plan", "fresh", "-f", spec, "--rate", "5", "--baseline", "errors=0.002", "--value", "fresh-v3.errors=0.05"}, exitUsage,
			`--value fresh-v3.errors=0.05: "fresh-v3" is not a version of the spec (its versions: fresh-v1, fresh-v2)`},
		{"value metric not in the spec", []string{"plan", "fresh", "-f", spec, "--rate", "5", "--baseline", "errors=0.002", "--value", "fresh-v2.latency=100"}, exitUsage,
			`--value fresh-v2.latency=100: "latency" is not a metric of the spec (its metrics: errors)`},
		{"no spec", []string{"plan", "fresh"}, exitUsage, "requires the experiment spec"},
		{"yaml output", []string{"plan", "fresh", "-f", spec, "-o", "yaml"}, exitUsage, `unknown output format "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, freshService())
			if code := h.run(tt.args...); code != tt.code || !strings.Contains(h.stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q", code, h.stderr, tt.code, tt.stderr)
			}
		})
	}
}

// pastBad is an iter8.dev/past entry: a candidate rolled back after 7
// errors in 90 requests.
const pastBad = `{"id":"b","outcome":"rollback","ended":"2025-03-01T10:00:00Z","ratios":{"errors":{"s":7,"t":90}}}`

// start --plan prints the plan, and only then sends the start event.
func TestStartPrintsThePlanFirst(t *testing.T) {
	s := newSink(t, http.StatusOK)
	h := newHarness(t, freshService())
	code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--sink", s.URL, "--plan", "--rate", "50", "--baseline", "errors=0.002")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	out := h.stdout.String()
	if p, sent := strings.Index(out, "In time:"), strings.Index(out, "Sent "); p < 0 || sent < p || len(s.events()) != 1 {
		t.Errorf("want the plan, then the event sent; %d events, stdout:\n%s", len(s.events()), out)
	}
	h = newHarness(t, freshService())
	if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--sink", s.URL, "--plan"); code != exitUsage || len(s.events()) != 1 {
		t.Errorf("start --plan without a rate: exit %d, %d events; want a usage error and nothing sent", code, len(s.events()))
	}
}

// start --plan checks the Service before it plans: a start the function
// would refuse fails without a plan, and one that passes reads the
// Service once, its record giving both the check and the plan's outlook
// from the past.
func TestStartChecksTheServiceBeforeThePlan(t *testing.T) {
	spec := writeFile(t, "e.yaml", validSpec)
	args := []string{"start", "fresh", "-f", spec, "--plan", "--rate", "20", "--baseline", "errors=0.002"}

	objs := freshService()
	svc := objs[0].(*servingv1.Service)
	svc.Annotations = map[string]string{store.AnnotationPast: "[" + pastBad + "]"}
	s := newSink(t, http.StatusOK)
	h := newHarness(t, objs)
	if code := h.run(append(args, "--sink", s.URL)...); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	gets := 0
	for _, a := range h.serving.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "services" {
			gets++
		}
	}
	if gets != 1 || !strings.Contains(h.stdout.String(), "Outlook:") || len(s.events()) != 1 {
		t.Errorf("%d GETs of the Service, outlook shown %v, %d events; want one GET, the outlook and the event:\n%s",
			gets, strings.Contains(h.stdout.String(), "Outlook:"), len(s.events()), h.stdout)
	}

	objs = freshService()
	objs[0].(*servingv1.Service).Labels = nil
	s = newSink(t, http.StatusOK)
	h = newHarness(t, objs)
	code := h.run(append(args, "--sink", s.URL)...)
	if code == exitOK || !strings.Contains(h.stderr.String(), "has not opted in") || strings.Contains(h.stdout.String(), "Plan:") || len(s.events()) != 0 {
		t.Errorf("a Service not opted in: exit %d, %d events; want an error before any plan and nothing sent\nstdout:\n%s\nstderr:\n%s",
			code, len(s.events()), h.stdout, h.stderr)
	}
}

// A canary's plan reads the Service's past canaries and adds the outlook
// of a candidate like them, in the table and in -o json. Without a past
// there is no outlook and nothing to warn of; a Service or annotation
// that cannot be read warns, naming it, and the plan is made without.
func TestPlanOutlookFromThePast(t *testing.T) {
	spec := writeFile(t, "e.yaml", validSpec)
	withPast := func(raw string) []runtime.Object {
		objs := freshService()
		if raw != "" {
			objs[0].(*servingv1.Service).Annotations = map[string]string{store.AnnotationPast: raw}
		}
		return objs
	}
	const good = `{"id":"g","outcome":"fresh-v2","ended":"2025-03-02T10:00:00Z","ratios":{"errors":{"s":1,"t":1222}}}`
	args := []string{"plan", "fresh", "-f", spec, "--rate", "20", "--baseline", "errors=0.002", "--seed", "2"}
	for _, tc := range []struct {
		name, raw string
		service   string
		outlook   string // in the table; "" for none
		stderr    string // "" for none
	}{
		{name: "two past canaries", raw: "[" + pastBad + "," + good + "]", service: "fresh", outlook: "Outlook:   like its 2 past canaries: "},
		{name: "no past", service: "fresh"},
		{name: "unreadable past", raw: "[{", service: "fresh",
			stderr: "Warning: the plan has no outlook from past canaries: service default/fresh: annotation iter8.dev/past: unexpected end of JSON input"},
		{name: "no such service", service: "gone",
			stderr: `Warning: the plan has no outlook from past canaries: reading service default/gone: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, withPast(tc.raw))
			args := append([]string{args[0], tc.service}, args[2:]...)
			if code := h.run(args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, h.stderr)
			}
			out := h.stdout.String()
			if got := strings.Contains(out, "Outlook:"); got != (tc.outlook != "") || !strings.Contains(out, tc.outlook) {
				t.Errorf("outlook %q wanted, plan:\n%s", tc.outlook, out)
			}
			if (tc.stderr == "") != (h.stderr.Len() == 0) || !strings.Contains(h.stderr.String(), tc.stderr) {
				t.Errorf("stderr %q, want %q", h.stderr, tc.stderr)
			}
			h = newHarness(t, withPast(tc.raw))
			if code := h.run(append(args, "-o", "json")...); code != exitOK {
				t.Fatalf("-o json: exit %d: %s", code, h.stderr)
			}
			var p plan.Plan
			if err := json.Unmarshal(h.stdout.Bytes(), &p); err != nil {
				t.Fatalf("-o json: %v\n%s", err, h.stdout)
			}
			if (p.Outlook != nil) != (tc.outlook != "") {
				t.Fatalf("-o json outlook %+v, want one: %v", p.Outlook, tc.outlook != "")
			}
			if p.Outlook != nil && (p.Outlook.Candidates != 2 || p.Outlook.Outcomes["rollback"] <= 0 || p.Outlook.Outcomes["fresh-v2"] <= 0) {
				t.Errorf("-o json outlook %+v: want 2 candidates, some runs rolled back and some promoted", *p.Outlook)
			}
		})
	}
}

// Other kinds have no outlook, and do not read the Service for one.
func TestPlanOutlookIsACanarys(t *testing.T) {
	perf := strings.NewReplacer("kind: canary", "kind: performance", "candidates: [fresh-v2]\n", "").Replace(validSpec)
	spec := writeFile(t, "e.yaml", perf)
	h := newHarness(t, nil)
	if code := h.run("plan", "gone", "-f", spec, "--rate", "20", "--baseline", "errors=0.002"); code != exitOK || h.stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, h.stderr)
	}
	if strings.Contains(h.stdout.String(), "Outlook:") {
		t.Errorf("a performance test's plan has an outlook:\n%s", h.stdout)
	}
}

// Without -n, a plan acts in the kubeconfig context's namespace, as every
// other command does: its Prometheus queries, the outlook's Service and
// start's event all name it. With -n, all name that. Only shop/fresh has
// a past, so an outlook shows which Service was read.
func TestPlanReadsOneNamespace(t *testing.T) {
	shop := freshServiceIn("shop")
	shop[0].(*servingv1.Service).Annotations = map[string]string{store.AnnotationPast: "[" + pastBad + "]"}
	objs := append(shop, freshServiceIn("other")...)
	spec := writeFile(t, "e.yaml", validSpec)
	for _, tc := range []struct {
		name string
		ns   []string // -n, if any
		want string
	}{
		{name: "context namespace", want: "shop"},
		{name: "-n", ns: []string{"-n", "other"}, want: "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSink(t, http.StatusOK)
			for _, args := range [][]string{
				{"plan", "fresh", "-f", spec},
				{"start", "fresh", "-f", spec, "--plan", "--sink", s.URL},
			} {
				h := newHarness(t, objs)
				h.env.clients = func(f *kubeFlags) (*clients, error) {
					ns := f.namespace
					if ns == "" {
						ns = "shop" // the kubeconfig context's
					}
					return &clients{namespace: ns, serving: h.serving.ServingV1(), dynamic: h.dynamic}, nil
				}
				var read []string
				h.env.baseline = func(_ context.Context, _ *env, _ func(string) (string, bool), ns, _ string, _ events.ExperimentSpec, _, _ time.Time) (map[string]stats.Data, error) {
					read = append(read, ns)
					return nil, nil
				}
				args = append(append(args, "--rate", "20", "--baseline", "errors=0.002"), tc.ns...)
				if code := h.run(args...); code != exitOK {
					t.Fatalf("%s: exit %d: %s", args[0], code, h.stderr)
				}
				if diff := cmp.Diff([]string{tc.want}, read); diff != "" {
					t.Errorf("%s: Prometheus read namespaces (-want +got):\n%s", args[0], diff)
				}
				if got := strings.Contains(h.stdout.String(), "Outlook:"); got != (tc.want == "shop") {
					t.Errorf("%s: outlook from shop/fresh's past shown: %v, want %v:\n%s", args[0], got, tc.want == "shop", h.stdout)
				}
			}
			if evs := s.events(); len(evs) != 1 || evs[0].Subject() != tc.want+"/fresh" {
				t.Errorf("start sent %d events, want one to %s/fresh", len(evs), tc.want)
			}
		})
	}
}

// A Prometheus URL that does not answer as Prometheus is a warning that
// names the cause, without the HTTP status the functions would answer a
// delivery with, and the plan goes on from the flags.
func TestPlanWarnsOfAPrometheusItCannotRead(t *testing.T) {
	notProm := httptest.NewServer(http.NotFoundHandler())
	defer notProm.Close()
	h := newHarness(t, freshService())
	code := h.run("plan", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--rate", "50", "--baseline", "errors=0.002", "--prometheus", notProm.URL)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	warning, _, _ := strings.Cut(h.stderr.String(), "\n")
	if !strings.HasPrefix(warning, "Warning: not reading Prometheus: baseline fresh-v1 of default/fresh: prometheus query") || !strings.Contains(warning, "404") || strings.Contains(warning, "(HTTP ") {
		t.Errorf("stderr's first line %q; want the query that failed and its 404, without the functions' status", warning)
	}
	if !strings.Contains(h.stdout.String(), "Plan:") {
		t.Errorf("no plan after the warning:\n%s", h.stdout)
	}
}
