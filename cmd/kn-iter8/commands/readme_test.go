package commands

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
// copies it, on README's spec, and compares its output with the
// transcript docs/planning.md opens with ("a real run, on README's abn
// spec"), whose command must be README's. A command that leaves out a
// metric's baseline value fails for everyone who copies it, and the plan
// is deterministic for its seed, so any change to the engine or the
// planner that moves it shows here.
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
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "planning.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), "```\n$ kn iter8 plan ")
	if !ok {
		t.Fatal("docs/planning.md shows no kn iter8 plan transcript")
	}
	block, _, _ = strings.Cut(block, "```")
	command, want, _ := strings.Cut(block, "\n")
	// The two name the spec's file each their own way.
	file := writeFile(t, "experiment.yaml", spec)
	named := func(args []string) []string {
		out := slices.Clone(args)
		for i := range out {
			if i > 0 && out[i-1] == "-f" {
				out[i] = file
			}
		}
		return out
	}
	args = named(args)
	if diff := cmp.Diff(args, named(strings.Fields(command))); diff != "" {
		t.Errorf("docs/planning.md's transcript is not of README's kn iter8 plan command (-README +planning.md):\n%s", diff)
	}
	h := newHarness(t, nil)
	if code := h.run(append([]string{"plan"}, args...)...); code != exitOK {
		t.Fatalf("kn iter8 plan %s: exit %d: %s", strings.Join(args, " "), code, h.stderr)
	}
	// The table ends with a blank line, which a transcript leaves out.
	got := strings.TrimRight(h.stdout.String(), "\n") + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/planning.md's transcript of kn iter8 plan %s differs from its output (-doc +got):\n%s", command, diff)
	}
}

// TestDocumentedSpecsAreValid reads every experiment spec README and
// docs/experiments.md show (a YAML block with a kind and a baseline) as
// `kn iter8 start -f` does: an example a user copies must pass its own
// validation.
func TestDocumentedSpecsAreValid(t *testing.T) {
	found := 0
	for _, doc := range []string{"README.md", filepath.Join("docs", "experiments.md")} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", doc))
		if err != nil {
			t.Fatal(err)
		}
		blocks := strings.Split(string(b), "```yaml\n")[1:]
		for i, block := range blocks {
			block, _, _ = strings.Cut(block, "```")
			if !strings.Contains(block, "\nbaseline:") || !strings.HasPrefix(block, "kind:") {
				continue
			}
			found++
			if _, err := readSpec(&env{}, writeFile(t, "spec.yaml", block)); err != nil {
				t.Errorf("%s, YAML block %d: %v\n%s", doc, i+1, err, block)
			}
		}
	}
	// README's abn spec and the five of docs/experiments.md.
	if found < 6 {
		t.Errorf("read %d documented specs, want at least 6", found)
	}
}
