package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readmeCluster is README's section "Using it on a cluster": the commands
// a user copies, then the spec they run them on.
func readmeCluster(t *testing.T) (commands []string, spec string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Using it on a cluster\n")
	if !ok {
		t.Fatal(`README.md has no section "Using it on a cluster"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, rest, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal("README's cluster section has no sh block")
	}
	block, rest, _ := strings.Cut(rest, "```")
	for _, line := range strings.Split(block, "\n") {
		if line, _, _ = strings.Cut(line, "#"); strings.TrimSpace(line) != "" {
			commands = append(commands, strings.TrimSpace(line))
		}
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		t.Fatal("README's cluster section has no spec")
	}
	spec, _, _ = strings.Cut(rest, "```")
	return commands, spec
}

// TestREADMEPlanCommand runs README's `kn iter8 plan` command, as a user
// copies it, on README's spec: every metric the spec names needs its
// baseline value, and a command that leaves one out fails for everyone
// who tries it.
func TestREADMEPlanCommand(t *testing.T) {
	commands, spec := readmeCluster(t)
	var args []string
	for _, c := range commands {
		if rest, ok := strings.CutPrefix(c, "kn iter8 plan "); ok {
			args = strings.Fields(rest)
		}
	}
	if args == nil {
		t.Fatalf("README's cluster section has no kn iter8 plan command: %q", commands)
	}
	file := writeFile(t, "experiment.yaml", spec)
	for i, a := range args {
		if a == "experiment.yaml" {
			args[i] = file
		}
	}
	h := newHarness(t, nil)
	if code := h.run(append([]string{"plan"}, args...)...); code != exitOK {
		t.Fatalf("kn iter8 plan %s: exit %d: %s", strings.Join(args, " "), code, h.stderr)
	}
	for _, want := range []string{"Plan:      abn experiment", "Outcomes:", "IF BAD"} {
		if !strings.Contains(h.stdout.String(), want) {
			t.Errorf("README's plan lacks %q:\n%s", want, h.stdout)
		}
	}
}
