package simulate

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// EnvScenarios names the environment variable that points at the shared
// scenario directory.
const EnvScenarios = "ITER8_SCENARIOS"

// ScenarioDir is where scenario files are looked up: dir when set (from
// ITER8_SCENARIOS or a flag), else ../shared/scenarios beside the
// repository holding cwd (where CI checks the shared set out), else the
// repository's own copy in test/scenarios. The caller passes the
// environment's value in, so that this reads no environment itself.
func ScenarioDir(dir, cwd string) string {
	if dir != "" {
		return dir
	}
	root := repoRoot(cwd)
	if root == "" {
		return filepath.Join(cwd, "test", "scenarios")
	}
	shared := filepath.Join(root, "..", "shared", "scenarios")
	if fi, err := os.Stat(shared); err == nil && fi.IsDir() {
		return filepath.Clean(shared)
	}
	return filepath.Join(root, "test", "scenarios")
}

// repoRoot is the nearest directory at or above dir holding go.mod; ""
// when there is none.
func repoRoot(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// ScenarioFiles lists the scenario files (*.yaml, *.yml) in dir, sorted.
func ScenarioFiles(dir string) ([]string, error) {
	var out []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, fmt.Errorf("list scenarios in %s: %w", dir, err)
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list scenarios: no *.yaml in %s", dir)
	}
	slices.Sort(out)
	return out, nil
}

// ResolveScenario turns --scenario's argument into a file: an existing
// path as is, else a bare name (such as ab-conversion) as NAME.yaml in
// dir.
func ResolveScenario(arg, dir string) (string, error) {
	if _, err := os.Stat(arg); err == nil {
		return arg, nil
	}
	if !strings.ContainsRune(arg, filepath.Separator) && filepath.Ext(arg) == "" {
		p := filepath.Join(dir, arg+".yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("scenario %q: no such file, nor %s", arg, p)
	}
	return "", fmt.Errorf("scenario %q: no such file", arg)
}
