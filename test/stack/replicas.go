package stack

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/iter8-knative/iter8/test/cluster"
)

// replica is one running iter8-functions process.
type replica struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File // nil when the log goes to the caller's writer
	url  string
	// ready is how long it took to answer /readyz.
	ready time.Duration
}

// startReplica starts the real iter8-functions binary on a free port and
// waits until it is ready. Its logs go to logw, else to a temp file.
func startReplica(ctx context.Context, c *cluster.Cluster, logw io.Writer, env []string) (*replica, error) {
	bin := filepath.Join(c.Bin, "iter8-functions")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("functions: %s is not built (run `make build`): %w", bin, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &replica{url: "http://" + addr}
	r.cmd = exec.Command(bin, "--listen", addr, "--kubeconfig", c.Kubeconfig, "--grace", "5s")
	r.cmd.Env = append(append(os.Environ(), "K_SINK=", "PORT="), env...)
	if logw == nil {
		f, err := os.CreateTemp("", "iter8-functions-*.log")
		if err != nil {
			return nil, err
		}
		r.log, logw = f, f
	}
	r.cmd.Stdout, r.cmd.Stderr = logw, logw
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := r.cmd.Start(); err != nil {
		r.stop()
		return nil, fmt.Errorf("functions: %w", err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		r.stop()
		return nil, fmt.Errorf("functions: not ready at %s: %w", r.url, err)
	}
	r.ready = time.Since(start)
	return r, nil
}

// stop ends the process with SIGTERM, so that it finishes in-flight
// events, and kills it if it takes too long.
func (r *replica) stop() {
	if r.done != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	}
	if r.log != nil {
		r.log.Close()
		os.Remove(r.log.Name())
	}
}

// FunctionsLog returns the functions servers' logs, one replica after
// another, when they go to files.
func (s *Stack) FunctionsLog() string {
	var b strings.Builder
	for _, r := range s.replicas {
		if r.log == nil {
			continue
		}
		got, _ := os.ReadFile(r.log.Name())
		b.Write(got)
	}
	return b.String()
}

// ReplicaLogs returns each replica's log, in FunctionsURLs' order.
func (s *Stack) ReplicaLogs() []string {
	var out []string
	for _, r := range s.replicas {
		var got []byte
		if r.log != nil {
			got, _ = os.ReadFile(r.log.Name())
		}
		out = append(out, string(got))
	}
	return out
}

// functionsAddrs are the replicas' host:port.
func (s *Stack) functionsAddrs() []string {
	var out []string
	for _, u := range s.FunctionsURLs {
		out = append(out, strings.TrimPrefix(u, "http://"))
	}
	return out
}

// SendTo delivers e to the replica at url (one of FunctionsURLs) in binary
// mode, as a Trigger delivers to one pod, and returns the HTTP status and
// the reply's type ("" for none). A status of 300 or more is returned with
// an error carrying the answer.
func (s *Stack) SendTo(ctx context.Context, url string, e cloudevents.Event) (int, string, error) {
	status, header, _, err := post(ctx, url, e)
	return status, header.Get("Ce-Type"), err
}
