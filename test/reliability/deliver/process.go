package deliver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/iter8-knative/iter8/test/internal/proc"
	"github.com/iter8-knative/iter8/test/lockedbuf"
)

// Functions is the real iter8-functions binary, run on a fixed loopback
// address so that it can be killed and restarted under its clients.
type Functions struct {
	// URL is where it takes CloudEvents.
	URL string
	// Starts counts how often the process was started.
	Starts int

	bin, kubeconfig, addr string
	extraArgs             []string
	env                   []string  // see WithEnv
	out                   io.Writer // see WithLog; nil for none

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedbuf.Buffer
}

// Option configures StartFunctions.
type Option func(*Functions)

// WithArgs adds command-line arguments after --listen, --kubeconfig and
// --grace.
func WithArgs(args ...string) Option {
	return func(f *Functions) { f.extraArgs = append(f.extraArgs, args...) }
}

// WithEnv adds env (KEY=VALUE) to the process's environment after K_SINK
// and PORT are cleared, so that it may set them.
func WithEnv(env ...string) Option {
	return func(f *Functions) { f.env = append(f.env, env...) }
}

// WithLog copies the process's output to w as it comes, besides keeping it
// for Log: a caller that streams it somewhere (a test's log, a file) still
// gets the whole log back.
func WithLog(w io.Writer) Option {
	return func(f *Functions) { f.out = w }
}

// StartFunctions starts bin (bin/iter8-functions) against kubeconfig on a
// free loopback port and waits until it is ready. Its logs are kept in
// memory (see Log). This module's bin/iter8-functions is first brought up
// to date with the source (see fresh).
func StartFunctions(ctx context.Context, bin, kubeconfig string, opts ...Option) (*Functions, error) {
	if err := fresh(bin); err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("functions: %s is not built (run `make build`): %w", bin, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	f := &Functions{URL: "http://" + addr, bin: bin, kubeconfig: kubeconfig, addr: addr, log: &lockedbuf.Buffer{}}
	for _, o := range opts {
		o(f)
	}
	return f, f.Restart(ctx)
}

// FunctionsBin is bin/iter8-functions under the repository root.
func FunctionsBin(root string) string { return filepath.Join(root, "bin", "iter8-functions") }

// Restart starts the process again (after Kill or Stop) on the same
// address and waits until it answers /readyz.
func (f *Functions) Restart(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd != nil {
		select {
		case <-f.done:
		default:
			return fmt.Errorf("functions: pid %d still running", f.cmd.Process.Pid)
		}
	}
	var cmd *exec.Cmd
	done := make(chan struct{})
	// A killed process's port is free at once, but a restart may still
	// race its last connections: retry the bind a few times.
	for attempt := 0; ; attempt++ {
		cmd = exec.Command(f.bin, append([]string{"--listen", f.addr, "--kubeconfig", f.kubeconfig, "--grace", "5s"}, f.extraArgs...)...)
		cmd.Env = append(append(os.Environ(), "K_SINK=", "PORT="), f.env...)
		var w io.Writer = f.log
		if f.out != nil {
			w = io.MultiWriter(f.log, f.out)
		}
		cmd.Stdout, cmd.Stderr = w, w
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("functions: %w", err)
		}
		f.Starts++
		done = make(chan struct{})
		go func(c *exec.Cmd, d chan struct{}) { _ = c.Wait(); close(d) }(cmd, done)
		err := wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(context.Context) (bool, error) {
			select {
			case <-done:
				return false, fmt.Errorf("exited")
			default:
			}
			resp, err := http.Get(f.URL + "/readyz")
			if err != nil {
				return false, nil
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		})
		if err == nil {
			break
		}
		// Not ready: it exited (its port was still taken), or ctx ended.
		_ = cmd.Process.Kill()
		<-done
		if attempt == 5 || ctx.Err() != nil {
			return fmt.Errorf("functions: not ready at %s: %w; log:\n%s", f.URL, err, tail(f.log.String(), 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.cmd, f.done = cmd, done
	return nil
}

// Kill SIGKILLs the process, wherever it is (between a read and a write
// included), and waits until it is gone.
func (f *Functions) Kill() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil {
		return
	}
	_ = f.cmd.Process.Signal(syscall.SIGKILL)
	<-f.done
}

// Stop ends the process with SIGTERM, as Kubernetes does, and waits.
func (f *Functions) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil {
		return
	}
	proc.Terminate(f.cmd.Process, f.done, 10*time.Second)
}

// PID is the current process's id.
func (f *Functions) PID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cmd.Process.Pid
}

// Log returns everything the process (all its incarnations) logged.
func (f *Functions) Log() string { return f.log.String() }

// RSS reads the process's resident set size in bytes from /proc.
func (f *Functions) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", f.PID()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS", f.PID())
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// EventsInFlight reads the process's iter8_events_in_flight gauge: how
// many events it is handling right now (between its read of the Service
// and its write, mostly). An error when it does not answer.
func (f *Functions) EventsInFlight(ctx context.Context) (float64, error) {
	return Scrape(ctx, f.URL, "iter8_events_in_flight")
}

// Scrape reads the unlabelled counter or gauge called name from the
// /metrics page under base: an error when it does not answer or has none.
func Scrape(ctx context.Context, base, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s/metrics has no %s", base, name)
}
