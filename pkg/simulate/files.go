package simulate

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

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
