package commands

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	servingfake "knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/pkg/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedNow is the clock of every test: seven minutes after the last
// recorded window of the running experiments.
var fixedNow = time.Date(2025, 3, 4, 10, 47, 0, 0, time.UTC)

// harness runs the real command tree against fake clusters.
type harness struct {
	env            *env
	stdout, stderr *bytes.Buffer
	serving        *servingfake.Clientset
	dynamic        *dynamicfake.FakeDynamicClient
}

// newHarness serves objs (Services, plus unstructured Brokers) from fake
// clientsets; "default" is the context's namespace.
func newHarness(t *testing.T, services []runtime.Object, brokers ...runtime.Object) *harness {
	t.Helper()
	h := &harness{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	h.serving = servingfake.NewSimpleClientset(services...)
	h.dynamic = dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), brokers...)
	h.env = &env{
		stdout: h.stdout, stderr: h.stderr, stdin: strings.NewReader(""),
		now:  func() time.Time { return fixedNow },
		http: &http.Client{Timeout: 10 * time.Second},
		// Few forward runs: the views' tests check the ETA is shown, and
		// pkg/plan how good it is.
		eta: plan.ETAOptions{Runs: 20, Budget: 300},
		clients: func(f *kubeFlags) (*clients, error) {
			ns := f.namespace
			if ns == "" {
				ns = "default"
			}
			return &clients{namespace: ns, serving: h.serving.ServingV1(), dynamic: h.dynamic}, nil
		},
	}
	return h
}

// recorded returns the recorded Services.
func recorded(t *testing.T, files ...string) []runtime.Object {
	t.Helper()
	var out []runtime.Object
	for _, f := range files {
		out = append(out, loadService(t, f))
	}
	return out
}

// run executes kn iter8 with args and returns the exit code.
func (h *harness) run(args ...string) int {
	h.stdout.Reset()
	h.stderr.Reset()
	return run(context.Background(), h.env, args)
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; rewrite with -update if intended):\n%s", path, diff)
	}
}

// lookTool returns the path of the first of names on the PATH. Without
// one, the test fails in CI (CI set), where `make test` has installed the
// Debian package pkg, and skips elsewhere, saying what it skips and how to
// install what it needs.
func lookTool(t *testing.T, what, pkg string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not installed (sudo apt-get install -y %s, or run make test as root, which installs it)", names[0], pkg)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; CI must not skip %s", msg, what)
	}
	t.Skipf("%s: skipping %s", msg, what)
	return ""
}
