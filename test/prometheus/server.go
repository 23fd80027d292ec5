package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/iter8-knative/iter8/test/internal/proc"
)

// Where the prometheus binary is: EnvBinary when set, else Debian's
// package's path, else PATH.
const (
	EnvBinary     = "ITER8_PROMETHEUS_BIN"
	DebianBinary  = "/usr/bin/prometheus"
	installAdvice = "install it with `apt-get install -y prometheus` (Debian; `make test` does as root) or set " + EnvBinary
)

// ScrapeInterval is short so that a test or a demo waits a fraction of a
// second per window boundary.
const ScrapeInterval = 250 * time.Millisecond

// Job is the scrape job of every target.
const Job = "queue-proxy"

// Binary finds the prometheus binary, or says how to install it.
func Binary() (string, error) {
	if bin := os.Getenv(EnvBinary); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("prometheus: %s=%s: %w", EnvBinary, bin, err)
		}
		return bin, nil
	}
	if _, err := os.Stat(DebianBinary); err == nil {
		return DebianBinary, nil
	}
	if bin, err := exec.LookPath("prometheus"); err == nil {
		return bin, nil
	}
	return "", fmt.Errorf("prometheus: the binary is not at %s nor on PATH: %s", DebianBinary, installAdvice)
}

// Server is a real Prometheus process with a private TSDB, scraping a
// fixed set of targets on loopback every ScrapeInterval. It keeps its
// address and TSDB across Stop and Restart, as a restarted Prometheus in a
// cluster would.
type Server struct {
	bin     string
	dir     string
	addr    string
	targets []string
	cmd     *exec.Cmd
	done    chan struct{}
	api     v1.API
}

// Start starts Prometheus scraping targets (host:port) and waits until it
// is ready and has scraped every target once. Close it when done.
func Start(ctx context.Context, targets []string) (*Server, error) {
	return StartEvery(ctx, targets, ScrapeInterval)
}

// StartEvery is Start scraping every interval instead of ScrapeInterval:
// a benchmark with thousands of series keeps Prometheus's own load to a
// realistic share of the machine.
func StartEvery(ctx context.Context, targets []string, interval time.Duration) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "iter8-prometheus-*")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: ['%s']
`, model.Duration(interval), model.Duration(interval*4/5), Job, strings.Join(targets, "', '"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("prometheus config: %w", err)
	}
	client, err := api.NewClient(api.Config{Address: "http://" + addr})
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, addr: addr, targets: targets, api: v1.NewAPI(client)}
	if err := s.Restart(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Settle(ctx, time.Now()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// URL is the address to give the collector (ITER8_PROMETHEUS_URL).
func (s *Server) URL() string { return "http://" + s.addr }

// API is a client for one's own queries.
func (s *Server) API() v1.API { return s.api }

// Restart starts Prometheus (again) on the same address and TSDB, and waits
// until it is ready.
func (s *Server) Restart(ctx context.Context) error {
	if s.cmd != nil {
		return errors.New("prometheus is already running")
	}
	logFile, err := os.OpenFile(filepath.Join(s.dir, "prometheus.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("prometheus log: %w", err)
	}
	cmd := exec.Command(s.bin,
		"--config.file="+filepath.Join(s.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(s.dir, "tsdb"),
		"--web.listen-address="+s.addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// It must not outlive a demo or test killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("prometheus: start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	s.cmd, s.done = cmd, done
	return s.poll(ctx, "ready", func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// Stop terminates Prometheus and waits for it to exit; its TSDB (and WAL)
// stay for a Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	proc.Terminate(s.cmd.Process, s.done, 20*time.Second)
	s.cmd = nil
}

// Close stops Prometheus and removes its TSDB.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// Log returns what Prometheus logged (warnings and errors).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "prometheus.log"))
	return string(b)
}

// Settle waits until every target has been scraped successfully by a
// scrape stamped after t. Prometheus stamps a scrape with its start and
// scrapes each target in turn, so afterwards what the targets served
// before t is in a written sample, and every scrape stamped at or before t
// has finished reading its target.
func (s *Server) Settle(ctx context.Context, t time.Time) error {
	sel := fmt.Sprintf(`up{job=%q,instance=~%q}`, Job, strings.Join(s.targets, "|"))
	// timestamp() keeps the sample's own time only on a bare selector;
	// success is checked beside it.
	q := fmt.Sprintf(`count(timestamp(%[1]s) > %[2]f and %[1]s == 1)`, sel, float64(t.UnixNano())/1e9)
	return s.poll(ctx, "a scrape of every target after "+t.Format(time.RFC3339Nano), func(ctx context.Context) (bool, error) {
		v, _, _, err := s.api.Query(ctx, q, time.Now())
		if err != nil {
			return false, nil
		}
		vec, ok := v.(model.Vector)
		return ok && len(vec) == 1 && int(vec[0].Value) == len(s.targets), nil
	})
}

// Boundary returns a window boundary b such that every sample stamped at
// or before b reflects exactly what the targets had served before Boundary
// was called, and nothing served after it returns. Counters read at b are
// then exact, which is what lets a test expect exact counts.
func (s *Server) Boundary(ctx context.Context) (time.Time, error) {
	if err := s.Settle(ctx, time.Now()); err != nil {
		return time.Time{}, err
	}
	b := time.Now().Truncate(time.Millisecond)
	// A scrape stamped before b may still be reading a target; wait until
	// one stamped after b has been written, so it cannot see later traffic.
	return b, s.Settle(ctx, b)
}

// poll retries cond until it holds, Prometheus exits or 30 s pass.
func (s *Server) poll(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	done := s.done
	err := wait.PollUntilContextTimeout(ctx, 25*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-done:
			return false, errors.New("prometheus exited")
		default:
		}
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return cond(qctx)
	})
	if err != nil {
		return fmt.Errorf("prometheus at %s: waiting for %s: %w\n%s", s.URL(), what, err, tail(s.Log(), 2000))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
