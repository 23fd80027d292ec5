package stack

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
)

// Where the prometheus binary is: EnvPrometheusBinary when set, else
// Debian's package's path, else PATH.
const (
	EnvPrometheusBinary = "ITER8_PROMETHEUS_BIN"
	PrometheusBinary    = "/usr/bin/prometheus"
)

// ScrapeInterval is short so that a simulated interval of about a second
// waits a fraction of it for Prometheus to see its requests.
const ScrapeInterval = 250 * time.Millisecond

// scrapeJob is the job of the fake queue-proxies.
const scrapeJob = "queue-proxy"

// Prometheus is a real Prometheus process with a private TSDB, scraping a
// fixed set of targets on loopback every ScrapeInterval. It is started
// before the functions, which need its address.
type Prometheus struct {
	// URL is the address to give the collector (ITER8_PROMETHEUS_URL).
	URL string

	dir     string
	targets []string
	cmd     *exec.Cmd
	done    chan struct{}
	api     v1.API
}

// prometheusBinary finds the binary, or says how to install it.
func prometheusBinary() (string, error) {
	if bin := os.Getenv(EnvPrometheusBinary); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("prometheus: %s=%s: %w", EnvPrometheusBinary, bin, err)
		}
		return bin, nil
	}
	if _, err := os.Stat(PrometheusBinary); err == nil {
		return PrometheusBinary, nil
	}
	if bin, err := exec.LookPath("prometheus"); err == nil {
		return bin, nil
	}
	return "", fmt.Errorf("prometheus: the binary is not at %s nor on PATH: install it with "+
		"`sudo apt-get install -y prometheus` (Debian; .ci/run does) or set %s", PrometheusBinary, EnvPrometheusBinary)
}

// StartPrometheus starts Prometheus scraping targets (host:port) and waits
// until it is ready and has scraped every target once.
func StartPrometheus(ctx context.Context, targets []string, logf func(string, ...any)) (*Prometheus, error) {
	bin, err := prometheusBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "iter8-prometheus-*")
	if err != nil {
		return nil, err
	}
	p := &Prometheus{dir: dir, targets: targets}
	if err := p.start(ctx, bin); err != nil {
		p.Stop()
		return nil, err
	}
	if logf != nil {
		logf("prometheus: %s ready at %s, scraping %d targets every %s", bin, p.URL, len(targets), ScrapeInterval)
	}
	return p, nil
}

func (p *Prometheus) start(ctx context.Context, bin string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
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
`, model.Duration(ScrapeInterval), model.Duration(ScrapeInterval*4/5), scrapeJob, strings.Join(p.targets, "', '"))
	if err := os.WriteFile(filepath.Join(p.dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("prometheus config: %w", err)
	}
	logFile, err := os.Create(filepath.Join(p.dir, "prometheus.log"))
	if err != nil {
		return err
	}
	p.cmd = exec.Command(bin,
		"--config.file="+filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(p.dir, "tsdb"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// Like the functions, it must not outlive a demo killed with SIGKILL.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("prometheus: start %s: %w", bin, err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); logFile.Close(); close(p.done) }()
	p.URL = "http://" + addr
	client, err := api.NewClient(api.Config{Address: p.URL})
	if err != nil {
		return err
	}
	p.api = v1.NewAPI(client)
	err = p.poll(ctx, "ready", func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return err
	}
	return p.Settle(ctx, time.Now())
}

// Settle waits until every target has been scraped successfully by a
// scrape stamped after t. Prometheus stamps a scrape with its start and
// scrapes each target in turn, so afterwards: what the targets served
// before t is in a written sample, and every scrape stamped at or before t
// has finished reading its target.
func (p *Prometheus) Settle(ctx context.Context, t time.Time) error {
	sel := fmt.Sprintf(`up{job=%q,instance=~%q}`, scrapeJob, strings.Join(p.targets, "|"))
	// timestamp() keeps the sample's own time only on a bare selector;
	// success is checked beside it.
	q := fmt.Sprintf(`count(timestamp(%[1]s) > %[2]f and %[1]s == 1)`, sel, float64(t.UnixNano())/1e9)
	return p.poll(ctx, "a scrape of every target after "+t.Format(time.RFC3339Nano), func(ctx context.Context) (bool, error) {
		v, _, _, err := p.api.Query(ctx, q, time.Now())
		if err != nil {
			return false, nil
		}
		vec, ok := v.(model.Vector)
		return ok && len(vec) == 1 && int(vec[0].Value) == len(p.targets), nil
	})
}

// poll retries cond until it holds, Prometheus exits or 30s pass.
func (p *Prometheus) poll(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	err := wait.PollUntilContextTimeout(ctx, 25*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.done:
			return false, errors.New("prometheus exited")
		default:
		}
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return cond(qctx)
	})
	if err != nil {
		return fmt.Errorf("prometheus at %s: waiting for %s: %w\n%s", p.URL, what, err, tail(p.Log(), 2000))
	}
	return nil
}

// Log returns what Prometheus logged (warnings and errors).
func (p *Prometheus) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "prometheus.log"))
	return string(b)
}

// Stop ends Prometheus and removes its TSDB.
func (p *Prometheus) Stop() {
	if p.cmd != nil && p.cmd.Process != nil && p.done != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	os.RemoveAll(p.dir)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
