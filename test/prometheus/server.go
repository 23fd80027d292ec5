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
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// EnvBinary overrides where the prometheus binary is; by default it is
// looked up on PATH.
const EnvBinary = "ITER8_PROMETHEUS_BIN"

// ScrapeInterval is short so that a test waits a fraction of a second per
// window boundary.
const ScrapeInterval = 250 * time.Millisecond

// Job is the scrape job of every target.
const Job = "queue-proxy"

// Server is a real Prometheus process scraping a test's targets. It keeps
// its address and TSDB directory across Stop and Start, as a restarted
// Prometheus in a cluster would.
type Server struct {
	t       testing.TB
	bin     string
	dir     string
	addr    string
	targets int
	cmd     *exec.Cmd
	done    chan error
	logPath string
	api     v1.API
}

// Start starts Prometheus scraping targets (host:port) every
// ScrapeInterval and waits until it is ready. The process is stopped when
// the test ends, whatever its outcome. A missing binary fails the test: the
// integration tier must run (apt-get install prometheus).
func Start(t testing.TB, targets []string) *Server {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("prometheus"); err != nil {
			t.Fatalf("the prometheus binary is required by this integration test and was not found on PATH (%v): "+
				"install it with `apt-get install -y prometheus` (.ci/run does) or set %s", err, EnvBinary)
		}
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: ['%s']
`, model.Duration(ScrapeInterval), model.Duration(ScrapeInterval*4/5), Job, strings.Join(targets, "', '"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatalf("prometheus config: %v", err)
	}
	client, err := api.NewClient(api.Config{Address: "http://" + addr})
	if err != nil {
		t.Fatalf("prometheus client: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: dir, addr: addr, targets: len(targets), logPath: filepath.Join(dir, "prometheus.log"), api: v1.NewAPI(client)}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(s.logPath); err == nil {
				t.Logf("prometheus log:\n%s", tail(string(b), 4000))
			}
		}
	})
	s.Restart()
	return s
}

// URL is the address to give the collector.
func (s *Server) URL() string { return "http://" + s.addr }

// API is a client for the test's own queries.
func (s *Server) API() v1.API { return s.api }

// Stop terminates Prometheus and waits for it to exit; its TSDB (and WAL)
// stay for a restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts Prometheus (again) on the same address and TSDB, and
// waits until it is ready.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatalf("prometheus is already running")
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatalf("prometheus log: %v", err)
	}
	cmd := exec.Command(s.bin,
		"--config.file="+filepath.Join(s.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(s.dir, "tsdb"),
		"--web.listen-address="+s.addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		s.t.Fatalf("start %s: %v", s.bin, err)
	}
	s.cmd, s.done = cmd, make(chan error, 1)
	go func() {
		s.done <- cmd.Wait()
		logFile.Close()
	}()
	s.poll("ready", func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// Settle waits until every target has been scraped successfully by a
// scrape that started after t. Prometheus scrapes each target in turn, so
// every scrape stamped at or before t has then been written too.
func (s *Server) Settle(t time.Time) {
	s.t.Helper()
	// timestamp() keeps the sample's own time only when applied to a bare
	// selector; success is checked beside it.
	q := fmt.Sprintf(`count(timestamp(up{job=%[1]q}) > %[2]f and up{job=%[1]q} == 1)`, Job, float64(t.UnixNano())/1e9)
	s.poll("a scrape of every target after "+t.Format(time.RFC3339Nano), func(ctx context.Context) (bool, error) {
		v, _, _, err := s.api.Query(ctx, q, time.Now())
		if err != nil {
			return false, nil
		}
		vec, ok := v.(model.Vector)
		return ok && len(vec) == 1 && int(vec[0].Value) == s.targets, nil
	})
}

// Boundary returns a window boundary b such that every sample stamped at
// or before b reflects exactly what the targets had served before Boundary
// was called, and nothing served after it returns. Counters read at b are
// then exact, which is what lets a test expect exact counts.
func (s *Server) Boundary() time.Time {
	s.t.Helper()
	s.Settle(time.Now())
	b := time.Now().Truncate(time.Millisecond)
	// A scrape stamped before b may still be reading a target; wait until
	// one stamped after b has been written, so it cannot see later traffic.
	s.Settle(b)
	return b
}

// poll retries cond until it holds, failing the test after a deadline.
func (s *Server) poll(what string, cond func(context.Context) (bool, error)) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ok, err := cond(ctx)
		cancel()
		if err != nil {
			s.t.Fatalf("prometheus: waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case err := <-s.done:
			s.done <- err
			s.t.Fatalf("prometheus exited while waiting for %s: %v", what, errors.Join(err, errors.New("see the log below")))
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("prometheus: timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago; Prometheus binds it itself.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
