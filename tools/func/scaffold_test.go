package funccheck

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"knative.dev/func/generate"
	"knative.dev/func/pkg/filesystem"
	"knative.dev/func/pkg/scaffolding"
	"sigs.k8s.io/yaml"
)

// TestKnativeFunctionsScaffoldsTheRoot runs what `func build` runs before
// it hands the source to a builder: Knative Functions' scaffolding, with
// its signature detector and its embedded Go templates, over the
// repository root as func.yaml describes it (runtime go, invoke
// cloudevent). The detector must find the instanced signature (New), and
// the scaffolded main program, which calls New() and serves its Handle
// with knative.dev/func-go, must compile against the root package.
//
// What this does not prove: the container build itself (pack or s2i needs
// a container runtime, which this machine lacks), nor the deploy; and the
// compile needs a Go workspace that the builders do not set up (below).
func TestKnativeFunctionsScaffoldsTheRoot(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "func.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Runtime, Invoke string }
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(generate.TemplatesZip), int64(len(generate.TemplatesZip)))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), ".func", "build")
	if err := scaffolding.Write(out, root, f.Runtime, f.Invoke, filesystem.NewZipFS(zr)); err != nil {
		t.Fatalf("Knative Functions' scaffolding refused the repository root: %v", err)
	}
	main, err := os.ReadFile(filepath.Join(out, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(main, []byte("f.New()")) || !bytes.Contains(main, []byte("func-go/cloudevents")) {
		t.Fatalf("scaffolded the wrong signature; main.go:\n%s", main)
	}
	if testing.Short() {
		return
	}
	// The scaffold's go.mod requires the function as module "function"
	// (replace function => ./f), while iter8's module has its own path:
	// iter8's imports of its own packages resolve only when that module is
	// known too. A workspace provides it here; pack and s2i do not, which
	// is why README does not claim that `func build` works.
	for _, args := range [][]string{{"work", "init", "."}, {"work", "use", root}, {"build", "-o", filepath.Join(t.TempDir(), "f"), "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = out
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v in the scaffold: %v\n%s", args, err, b)
		}
	}
}
