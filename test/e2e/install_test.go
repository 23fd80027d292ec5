package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/config"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/stack"
)

// readmeInstall returns the `kubectl apply -k DIR` commands of README's
// "Using it on a cluster", in order.
func readmeInstall(t *testing.T, root string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Using it on a cluster\n")
	if !ok {
		t.Fatal("README.md has no section \"Using it on a cluster\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var dirs []string
	for _, m := range regexp.MustCompile(`kubectl apply -k (\S+)`).FindAllStringSubmatch(section, -1) {
		dirs = append(dirs, m[1])
	}
	return dirs
}

// TestInstallAsDocumented runs README's install commands, exactly, with
// kubectl v1.37 from bin/ against the local API server running Knative
// Serving and Eventing, and checks that what they install becomes Ready:
// the Broker, every Trigger, the PingSource and both Knative Services. The
// two RBAC variants are separate choices; the OIDC overlay holds the
// EventPolicy and nothing else, so turning OIDC on changes nothing else.
func TestInstallAsDocumented(t *testing.T) {
	c := cluster.Shared(t)
	dirs := readmeInstall(t, c.Root)
	var want []string
	for _, k := range config.Kustomizations {
		want = append(want, "config/"+k)
	}
	if !slices.Equal(dirs, want) {
		t.Fatalf("README installs with kubectl apply -k %v, want %v", dirs, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, dir := range dirs {
		if dir == "config/oidc" {
			continue // checked below: this stack runs with OIDC off
		}
		out, err := stack.Install(ctx, c, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("kubectl apply -k %s:\n%s", dir, out)
		if err := stack.WaitReady(ctx, c); err != nil {
			t.Fatal(err)
		}
		// A Role cannot grant a list across namespaces, so the per-namespace
		// variant must limit the tick to its namespaces; the cluster-wide
		// one must not limit it.
		wantNS := map[string]string{"config/namespaced": "default", "config/cluster-wide": ""}[dir]
		if got := functionsEnv(ctx, t, c, "ITER8_NAMESPACES"); got != wantNS {
			t.Errorf("%s: the functions run with ITER8_NAMESPACES=%q, want %q", dir, got, wantNS)
		}
		// Each variant grants exactly one kind of RBAC.
		kinds := kustomizedKinds(ctx, t, c, dir)
		role, clusterRole := slices.Contains(kinds, "Role"), slices.Contains(kinds, "ClusterRole")
		if role == clusterRole || slices.Contains(kinds, "EventPolicy") {
			t.Errorf("%s installs %v: want one RBAC variant and no EventPolicy", dir, kinds)
		}
	}
	if kinds := kustomizedKinds(ctx, t, c, "config/oidc"); !slices.Equal(kinds, []string{"EventPolicy"}) {
		t.Errorf("config/oidc installs %v, want only the EventPolicy", kinds)
	}
}

// kustomizedKinds lists the kinds `kubectl kustomize dir` renders.
func kustomizedKinds(ctx context.Context, t *testing.T, c *cluster.Cluster, dir string) []string {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "kubectl"), "kustomize", dir)
	cmd.Dir = c.Root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	objs, err := cluster.DecodeYAML(out)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		if !slices.Contains(kinds, o.GetKind()) {
			kinds = append(kinds, o.GetKind())
		}
	}
	return kinds
}

// functionsEnv returns the value of the installed functions' environment
// variable name, "" when unset.
func functionsEnv(ctx context.Context, t *testing.T, c *cluster.Cluster, name string) string {
	t.Helper()
	svc, err := servingclient.NewForConfigOrDie(c.Config).ServingV1().Services("iter8-system").Get(ctx, "iter8-functions", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the installed functions: %v", err)
	}
	for _, e := range svc.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
