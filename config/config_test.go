package config

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	eventingv1alpha1 "knative.dev/eventing/pkg/apis/eventing/v1alpha1"
	"knative.dev/eventing/pkg/apis/feature"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"
)

type validatable interface {
	Validate(context.Context) *apis.FieldError
}

// TestManifestsValidate decodes every manifest into Knative's and
// Kubernetes' Go types, strictly, and runs Knative's own Validate().
func TestManifestsValidate(t *testing.T) {
	kinds := map[string]int{}
	files, err := fs.Glob(Manifests, "*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if path.Base(f) == "kustomization.yaml" {
			continue
		}
		b, err := Manifests.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocs(b) {
			var meta struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s doc %d: %v", f, i, err)
			}
			if meta.Kind == "" {
				continue
			}
			kinds[meta.Kind]++
			var obj any
			switch meta.Kind {
			case "Service":
				obj = &servingv1.Service{}
			case "Broker":
				obj = &eventingv1.Broker{}
			case "Trigger":
				obj = &eventingv1.Trigger{}
			case "PingSource":
				obj = &sourcesv1.PingSource{}
			case "EventPolicy":
				obj = &eventingv1alpha1.EventPolicy{}
			case "Role", "ClusterRole":
				obj = &rbacv1.Role{}
			case "RoleBinding", "ClusterRoleBinding":
				obj = &rbacv1.RoleBinding{}
			case "Namespace", "ServiceAccount":
				continue
			default:
				t.Errorf("%s: unexpected kind %s", f, meta.Kind)
				continue
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s %s: strict decode: %v", f, meta.Kind, err)
				continue
			}
			if v, ok := obj.(validatable); ok {
				ctx := apis.WithinCreate(context.Background())
				if meta.Kind == "EventPolicy" {
					// EventPolicies only act with OIDC on, and validate only then.
					ctx = feature.ToContext(ctx, feature.Flags{feature.OIDCAuthentication: feature.Enabled})
				}
				// The webhook defaults before it validates; so do we.
				if d, ok := obj.(apis.Defaultable); ok {
					d.SetDefaults(ctx)
				}
				if fe := v.Validate(ctx).Filter(apis.ErrorLevel); fe != nil {
					t.Errorf("%s %s: Validate: %v", f, meta.Kind, fe)
				}
			}
		}
	}
	for _, k := range []string{"Service", "Broker", "Trigger", "PingSource", "EventPolicy", "Role", "RoleBinding", "ClusterRole"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the manifests", k)
		}
	}
	if kinds["Trigger"] != 5 {
		t.Errorf("want one Trigger per inbound type (5), got %d", kinds["Trigger"])
	}
}

// TestRoleVariantsAgree: the Role and the ClusterRole grant the same
// rules, so that the choice between them is only one of scope. Which rules
// those are is derived from the code's calls in test/integration
// (TestRBACDerivedFromCalls), not pinned here.
func TestRoleVariantsAgree(t *testing.T) {
	var rules [2][]rbacv1.PolicyRule
	for i, f := range []string{"namespaced/201-role.yaml", "cluster-wide/202-clusterrole.yaml"} {
		b, err := Manifests.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var role rbacv1.Role
		if err := yaml.Unmarshal(splitDocs(b)[0], &role); err != nil {
			t.Fatal(err)
		}
		rules[i] = role.Rules
	}
	if diff := cmp.Diff(rules[0], rules[1]); diff != "" {
		t.Errorf("the Role and the ClusterRole differ (-role +clusterrole):\n%s", diff)
	}
}

// TestRequestTimeoutInStep: the functions learn Knative's request timeout
// from ITER8_TIMEOUT_SECONDS (Knative does not pass timeoutSeconds to the
// container), so the two must agree.
func TestRequestTimeoutInStep(t *testing.T) {
	svc := functionsService(t)
	ts := svc.Spec.Template.Spec.TimeoutSeconds
	if ts == nil {
		t.Fatal("300-functions.yaml sets no timeoutSeconds")
	}
	v, ok := functionsEnv(t)["ITER8_TIMEOUT_SECONDS"]
	if !ok {
		t.Fatal("300-functions.yaml does not pass ITER8_TIMEOUT_SECONDS")
	}
	if v != strconv.FormatInt(*ts, 10) {
		t.Errorf("ITER8_TIMEOUT_SECONDS %q, timeoutSeconds %d: they must agree", v, *ts)
	}
}

// TestTickPeriodMatchesSchedule: the functions truncate each tick's time
// to ITER8_TICK_PERIOD, so that a tick delivered twice counts once; a
// period longer than the PingSource's would fold two ticks into one
// window, a shorter one would let a doubled tick count twice.
func TestTickPeriodMatchesSchedule(t *testing.T) {
	b, err := Manifests.ReadFile("base/600-pingsource.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ps sourcesv1.PingSource
	if err := yaml.Unmarshal(b, &ps); err != nil {
		t.Fatal(err)
	}
	period := map[string]string{"* * * * *": "60s", "*/2 * * * *": "120s", "*/5 * * * *": "300s"}[ps.Spec.Schedule]
	if period == "" {
		t.Fatalf("PingSource schedule %q: add its period to this test", ps.Spec.Schedule)
	}
	if got := functionsEnv(t)["ITER8_TICK_PERIOD"]; got != period {
		t.Errorf("ITER8_TICK_PERIOD %q, want %q for the PingSource's schedule %q", got, period, ps.Spec.Schedule)
	}
}

// functionsService is the functions' Knative Service of 300-functions.yaml.
func functionsService(t *testing.T) servingv1.Service {
	t.Helper()
	b, err := Manifests.ReadFile("base/300-functions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var svc servingv1.Service
	if err := yaml.Unmarshal(b, &svc); err != nil {
		t.Fatal(err)
	}
	return svc
}

// functionsEnv is the environment 300-functions.yaml gives the functions.
func functionsEnv(t *testing.T) map[string]string {
	t.Helper()
	svc := functionsService(t)
	env := map[string]string{}
	for _, e := range svc.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	return env
}

// TestEventPolicyAdmitsTriggers: with OIDC on, broker-filter sends the
// functions' replies back to the broker as the Trigger that delivered the
// event, so the EventPolicy must admit every Trigger of config/.
func TestEventPolicyAdmitsTriggers(t *testing.T) {
	b, err := Manifests.ReadFile("oidc/800-eventpolicy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p eventingv1alpha1.EventPolicy
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	admitted := map[string]bool{}
	for _, f := range p.Spec.From {
		if f.Ref != nil && f.Ref.Kind == "Trigger" {
			admitted[f.Ref.Namespace+"/"+f.Ref.Name] = true
		}
	}
	tb, err := Manifests.ReadFile("base/500-triggers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, doc := range splitDocs(tb) {
		var tr eventingv1.Trigger
		if err := yaml.Unmarshal(doc, &tr); err != nil || tr.Kind != "Trigger" {
			continue
		}
		n++
		if !admitted[tr.Namespace+"/"+tr.Name] {
			t.Errorf("Trigger %s/%s is not admitted by the EventPolicy: its replies would be refused", tr.Namespace, tr.Name)
		}
	}
	if n == 0 {
		t.Fatal("no Triggers in 500-triggers.yaml")
	}
}

func splitDocs(b []byte) [][]byte {
	r := utilyaml.NewYAMLReader(bufioReader(b))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			return docs
		}
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// TestKustomizationsAreSeparateChoices: each directory a user applies is a
// kustomization; the RBAC variants share the base and nothing else, and
// the EventPolicy ships only in oidc, so that OIDC on or off changes
// nothing else.
func TestKustomizationsAreSeparateChoices(t *testing.T) {
	resources := map[string][]string{}
	for _, k := range append([]string{"base"}, Kustomizations...) {
		b, err := Manifests.ReadFile(k + "/kustomization.yaml")
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		var kz struct{ Resources []string }
		if err := yaml.Unmarshal(b, &kz); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		resources[k] = kz.Resources
	}
	want := map[string][]string{
		"namespaced":   {"../base", "201-role.yaml"},
		"cluster-wide": {"../base", "202-clusterrole.yaml"},
		"oidc":         {"800-eventpolicy.yaml"},
	}
	for k, w := range want {
		if strings.Join(resources[k], " ") != strings.Join(w, " ") {
			t.Errorf("%s/kustomization.yaml resources %v, want %v", k, resources[k], w)
		}
	}
	for _, r := range resources["base"] {
		if strings.Contains(r, "role") || strings.Contains(r, "eventpolicy") {
			t.Errorf("base includes %s: RBAC and the EventPolicy are separate choices", r)
		}
	}
}
