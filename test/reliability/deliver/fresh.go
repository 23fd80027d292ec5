package deliver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
)

// built remembers, per binary path, the outcome of bringing it up to date:
// once per process is enough, since the source does not change under a
// running test.
var built sync.Map // string -> func() error

// fresh brings bin up to date with the module's source when bin is this
// module's bin/iter8-functions: a test run by hand after a source change
// (`go test ./test/e2e/...`) otherwise tests whatever `make build` last
// left there. `go build -o` relinks only when a source changed, so an
// up-to-date binary costs about a second.
//
// A host-wide flock beside the binary serialises the builds of concurrent
// test processes: go build replaces the file in place, and another process
// must not start it half written. A binary that is not this module's (no
// cmd/iter8-functions two levels up) is left as it is.
func fresh(bin string) error {
	once, _ := built.LoadOrStore(bin, sync.OnceValue(func() error { return rebuild(bin) }))
	return once.(func() error)()
}

func rebuild(bin string) error {
	root := filepath.Dir(filepath.Dir(bin))
	if filepath.Base(bin) != "iter8-functions" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "iter8-functions", "main.go")); err != nil {
		return nil
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("functions: cannot bring %s up to date (run `make build`): %w", bin, err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return fmt.Errorf("functions: %w", err)
	}
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("functions: lock for %s: %w", bin, err)
	}
	defer lock.Close() // closing releases the flock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("functions: lock for %s: %w", bin, err)
	}
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/iter8-functions")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("functions: go build of %s: %w\n%s", bin, err, capped(out))
	}
	return nil
}

// capped keeps a build's output to what a test log can show.
func capped(out []byte) []byte {
	const most = 4 << 10
	if len(out) > most {
		return append(out[:most:most], "\n…"...)
	}
	return out
}
