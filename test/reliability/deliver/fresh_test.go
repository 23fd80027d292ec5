package deliver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFreshRebuildsAChangedSource: a binary left by an older build is
// brought up to date before it is started, and a binary that is not a
// module's cmd/iter8-functions is left alone.
func TestFreshRebuildsAChangedSource(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	says := func(word string) string {
		return "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Print(\"" + word + "\") }\n"
	}
	run := func(bin string) string {
		t.Helper()
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		return strings.TrimSpace(string(out))
	}
	write("go.mod", "module example.com/fresh\n\ngo 1.22\n")
	write("cmd/iter8-functions/main.go", says("old"))
	bin := filepath.Join(root, "bin", "iter8-functions")
	if err := rebuild(bin); err != nil {
		t.Fatal(err)
	}
	if got := run(bin); got != "old" {
		t.Fatalf("first build says %q, want old", got)
	}
	write("cmd/iter8-functions/main.go", says("new"))
	if err := rebuild(bin); err != nil {
		t.Fatal(err)
	}
	if got := run(bin); got != "new" {
		t.Fatalf("after a source change the binary says %q, want new: a stale binary would be tested", got)
	}

	other := filepath.Join(root, "elsewhere", "bin", "iter8-functions")
	if err := rebuild(other); err != nil {
		t.Fatalf("a binary outside a module with cmd/iter8-functions: %v", err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatalf("rebuild created %s outside the module: %v", other, err)
	}
}
