package stack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// Image is the container image of the sample Service, by digest so that the
// controller resolves no tag.
const Image = "registry.example.com/iter8/shop@sha256:5f0c7ca1f4a4d5a1e7f8f1e1c6e2b1d8a9f3e2c1b0a9d8c7b6a5f4e3d2c1b0a9"

// Stack is a running local iter8.
type Stack struct {
	Cluster *cluster.Cluster
	// FunctionsURL is where the functions server takes CloudEvents.
	FunctionsURL string
	Store        *store.Store
	Logf         func(format string, args ...any)

	fn      *exec.Cmd
	fnDone  chan struct{}
	fnLog   *os.File
	ownsCl  bool
	counter int
}

// Options configure Start.
type Options struct {
	// Cluster reuses a running control plane (with Knative); Start starts
	// one when nil.
	Cluster *cluster.Cluster
	Logf    func(format string, args ...any)
	// FunctionsLog receives the functions server's JSON logs; a file in
	// the temp dir when nil.
	FunctionsLog io.Writer
	// Env is added to the functions' environment, such as the collector's
	// settings (PrometheusPath.Env).
	Env []string
}

// Start brings the stack up. Stop brings it down.
func Start(ctx context.Context, o Options) (*Stack, error) {
	s := &Stack{Logf: o.Logf, Cluster: o.Cluster}
	if s.Logf == nil {
		s.Logf = func(string, ...any) {}
	}
	if s.Cluster == nil {
		c, err := cluster.Start(ctx, cluster.Options{Knative: true, Logf: s.Logf})
		if err != nil {
			return nil, err
		}
		s.Cluster, s.ownsCl = c, true
	}
	if err := s.startFunctions(ctx, o.FunctionsLog, o.Env); err != nil {
		s.Stop()
		return nil, err
	}
	sv, err := servingclient.NewForConfig(s.Cluster.Config)
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.Store = store.New(sv.ServingV1())
	return s, nil
}

func (s *Stack) startFunctions(ctx context.Context, logw io.Writer, env []string) error {
	bin := filepath.Join(s.Cluster.Bin, "iter8-functions")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("functions: %s is not built (run `make build`): %w", bin, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	s.fn = exec.Command(bin, "--listen", addr, "--kubeconfig", s.Cluster.Kubeconfig, "--grace", "5s")
	s.fn.Env = append(append(os.Environ(), "K_SINK=", "PORT="), env...)
	if logw == nil {
		f, err := os.CreateTemp("", "iter8-functions-*.log")
		if err != nil {
			return err
		}
		s.fnLog, logw = f, f
	}
	s.fn.Stdout, s.fn.Stderr = logw, logw
	s.fn.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := s.fn.Start(); err != nil {
		return fmt.Errorf("functions: %w", err)
	}
	s.fnDone = make(chan struct{})
	go func() { _ = s.fn.Wait(); close(s.fnDone) }()
	s.FunctionsURL = "http://" + addr
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		resp, err := http.Get(s.FunctionsURL + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("functions: not ready at %s: %w", s.FunctionsURL, err)
	}
	s.Logf("functions: iter8-functions ready at %s in %s (pid %d)", s.FunctionsURL, time.Since(start).Round(time.Millisecond), s.fn.Process.Pid)
	return nil
}

// FunctionsLog returns the functions server's log when it goes to a file.
func (s *Stack) FunctionsLog() string {
	if s.fnLog == nil {
		return ""
	}
	b, _ := os.ReadFile(s.fnLog.Name())
	return string(b)
}

// Stop ends the functions server (SIGTERM, so it finishes in-flight events)
// and the control plane if Start started it.
func (s *Stack) Stop() {
	if s.fn != nil && s.fn.Process != nil {
		_ = s.fn.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.fnDone:
		case <-time.After(10 * time.Second):
			_ = s.fn.Process.Kill()
			<-s.fnDone
		}
	}
	if s.fnLog != nil {
		s.fnLog.Close()
		os.Remove(s.fnLog.Name())
	}
	if s.ownsCl && s.Cluster != nil {
		_ = s.Cluster.Stop()
	}
}

// Send posts a CloudEvent to the functions in binary mode, as a Knative
// Trigger would, and returns the HTTP status and reply.
func (s *Stack) Send(ctx context.Context, typ, subject string, data any) (int, *cloudevents.Event, error) {
	s.counter++
	b, err := json.Marshal(data)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.FunctionsURL, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", fmt.Sprintf("stack-%d-%d", time.Now().UnixNano(), s.counter))
	req.Header.Set("Ce-Source", "/iter8/stack")
	req.Header.Set("Ce-Type", typ)
	req.Header.Set("Ce-Subject", subject)
	req.Header.Set("Content-Type", events.ContentTypeJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(bufio.NewReader(resp.Body))
	if resp.StatusCode >= 300 {
		return resp.StatusCode, nil, fmt.Errorf("%s: HTTP %d: %s", typ, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if t := resp.Header.Get("Ce-Type"); t != "" {
		e := cloudevents.NewEvent()
		e.SetType(t)
		e.SetID(resp.Header.Get("Ce-Id"))
		e.SetSource(resp.Header.Get("Ce-Source"))
		e.SetSubject(resp.Header.Get("Ce-Subject"))
		_ = e.SetData(events.ContentTypeJSON, json.RawMessage(body))
		return resp.StatusCode, &e, nil
	}
	return resp.StatusCode, nil, nil
}
