package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// moduleDir returns the module cache directory of a module at the version the
// repository's go.mod selects, downloading it when the cache lacks it, so that
// the CRDs always follow go.mod.
func moduleDir(root, module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w: %s", module, err, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory: %s", module, info.Error)
	}
	return info.Dir, nil
}

// RepoRoot finds the repository root: the nearest ancestor of the working
// directory whose go.mod declares iter8's module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/iter8-knative/iter8\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no iter8 go.mod above the working directory")
		}
		dir = parent
	}
}

// crdDirs lists the directories that hold the CRDs iter8 needs. The serving
// module's zip lacks the networking and caching CRDs (they are symlinks in
// its repository), so those come from their own modules.
func crdDirs(root string) ([]string, error) {
	var dirs []string
	for _, m := range []struct{ module, dir string }{
		{"knative.dev/serving", "config/core/300-resources"},
		{"knative.dev/networking", "config"},
		{"knative.dev/caching", "config"},
		{"knative.dev/eventing", "config/core/resources"},
	} {
		d, err := moduleDir(root, m.module)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, filepath.Join(d, m.dir))
	}
	return dirs, nil
}
