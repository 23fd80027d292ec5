package functions

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/iter8-knative/iter8/config"
)

// funcYAML is the part of Knative Functions' func.yaml schema iter8 uses.
// Decoding is strict, so a misspelt or unknown field fails the test as
// `func deploy` would refuse it.
type funcYAML struct {
	SpecVersion string    `json:"specVersion"`
	Name        string    `json:"name"`
	Runtime     string    `json:"runtime"`
	Namespace   string    `json:"namespace"`
	Created     time.Time `json:"created"`
	Invoke      string    `json:"invoke"`
	Build       struct {
		Builder   string `json:"builder"`
		BuildEnvs []env  `json:"buildEnvs"`
	} `json:"build"`
	Run struct {
		Envs []env `json:"envs"`
	} `json:"run"`
	Deploy struct {
		Namespace          string `json:"namespace"`
		ServiceAccountName string `json:"serviceAccountName"`
		HealthEndpoints    struct {
			Liveness  string `json:"liveness"`
			Readiness string `json:"readiness"`
		} `json:"healthEndpoints"`
		Options struct {
			Scale struct {
				Min    *int    `json:"min"`
				Max    *int    `json:"max"`
				Metric string  `json:"metric"`
				Target float64 `json:"target"`
			} `json:"scale"`
			Resources struct {
				Requests map[string]string `json:"requests"`
				Limits   map[string]string `json:"limits"`
			} `json:"resources"`
		} `json:"options"`
		Subscriptions []struct {
			Source  string            `json:"source"`
			Filters map[string]string `json:"filters"`
		} `json:"subscriptions"`
	} `json:"deploy"`
}

type env struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TestFuncYAML checks func.yaml against the schema's rules and against what
// the code serves: a subscription per inbound type, the health endpoints
// func-go answers, the root package as the build, and the service account
// of config/.
func TestFuncYAML(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "func.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f funcYAML
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatalf("func.yaml: %v", err)
	}
	if !regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`).MatchString(f.Name) {
		t.Errorf("name %q is not a DNS label", f.Name)
	}
	if f.SpecVersion == "" || f.Created.IsZero() {
		t.Errorf("specVersion and created are required")
	}
	if f.Runtime != "go" || f.Invoke != "cloudevent" {
		t.Errorf("runtime %q invoke %q, want go and cloudevent", f.Runtime, f.Invoke)
	}
	if !slices.Contains([]string{"pack", "s2i", "host"}, f.Build.Builder) {
		t.Errorf("builder %q", f.Build.Builder)
	}
	for _, e := range f.Build.BuildEnvs {
		if e.Name == "BP_GO_TARGETS" {
			// pack builds the scaffold in .func/build, where no such
			// target exists; the root package is the function.
			t.Errorf("build sets BP_GO_TARGETS=%s: the scaffolded root package is the build", e.Value)
		}
	}
	if _, err := os.Stat(filepath.Join("..", "function.go")); err != nil {
		t.Errorf("the root package Knative Functions scaffolds: %v", err)
	}
	var got []string
	for _, s := range f.Deploy.Subscriptions {
		got = append(got, s.Filters["type"])
		if s.Source != "iter8" {
			t.Errorf("subscription to broker %q, want iter8 (config/base/400-broker.yaml)", s.Source)
		}
	}
	if diff := cmp.Diff(InboundTypes, got); diff != "" {
		t.Errorf("subscriptions differ from the types Route handles (-code +func.yaml):\n%s", diff)
	}
	if f.Deploy.HealthEndpoints.Liveness != "/health/liveness" || f.Deploy.HealthEndpoints.Readiness != "/health/readiness" {
		t.Errorf("health endpoints %+v, want func-go's /health/liveness and /health/readiness", f.Deploy.HealthEndpoints)
	}
	if m := f.Deploy.Options.Scale.Metric; m != "concurrency" && m != "rps" {
		t.Errorf("scale metric %q", m)
	}
	sa, err := config.Manifests.ReadFile("base/200-serviceaccount.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var acct struct {
		Metadata struct{ Name, Namespace string }
	}
	if err := yaml.Unmarshal(sa, &acct); err != nil {
		t.Fatal(err)
	}
	if acct.Metadata.Name != f.Deploy.ServiceAccountName || acct.Metadata.Namespace != f.Deploy.Namespace {
		t.Errorf("deploy runs as %s/%s; config/ creates %s/%s", f.Deploy.Namespace, f.Deploy.ServiceAccountName, acct.Metadata.Namespace, acct.Metadata.Name)
	}
}
