package stack

import (
	"bufio"
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
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
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

	broker  *brokerPath
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
	// Broker sends every event through Knative Eventing, as on a cluster:
	// config/ is installed with `kubectl apply -k config/namespaced`, events
	// go to the Broker's ingress and reach the functions through its
	// Triggers, replies and K_SINK events go back through the Broker. The
	// cluster must run Eventing (cluster.Options{Eventing: true}).
	Broker bool
}

// Start brings the stack up. Stop brings it down.
func Start(ctx context.Context, o Options) (*Stack, error) {
	s := &Stack{Logf: o.Logf, Cluster: o.Cluster}
	if s.Logf == nil {
		s.Logf = func(string, ...any) {}
	}
	if s.Cluster == nil {
		c, err := cluster.Start(ctx, cluster.Options{Knative: true, Eventing: o.Broker, Logf: s.Logf})
		if err != nil {
			return nil, err
		}
		s.Cluster, s.ownsCl = c, true
	}
	env := o.Env
	if o.Broker {
		proxy, err := s.Cluster.ProxyEnv()
		if err != nil {
			s.Stop()
			return nil, err
		}
		env = append(append(env, proxy...), "K_SINK="+cluster.BrokerIngressURL(SystemNamespace, BrokerName))
	}
	if err := s.startFunctions(ctx, o.FunctionsLog, env); err != nil {
		s.Stop()
		return nil, err
	}
	if o.Broker {
		if err := s.startBroker(ctx, strings.TrimPrefix(s.FunctionsURL, "http://")); err != nil {
			s.Stop()
			return nil, err
		}
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
	s.broker.stop()
	if s.fnLog != nil {
		s.fnLog.Close()
		os.Remove(s.fnLog.Name())
	}
	if s.ownsCl && s.Cluster != nil {
		_ = s.Cluster.Stop()
	}
}

// Send sends a CloudEvent of type typ about subject, in binary mode, as a
// Trigger would deliver it (through the Broker when the stack has one), and
// returns the HTTP status and the functions' reply.
func (s *Stack) Send(ctx context.Context, typ, subject string, data any) (int, *cloudevents.Event, error) {
	s.counter++
	e := cloudevents.NewEvent()
	e.SetID(fmt.Sprintf("stack-%d-%d", time.Now().UnixNano(), s.counter))
	e.SetSource("/iter8/stack")
	e.SetType(typ)
	e.SetSubject(subject)
	if err := e.SetData(events.ContentTypeJSON, data); err != nil {
		return 0, nil, err
	}
	if s.broker != nil {
		return s.sendBroker(ctx, e)
	}
	return s.sendDirect(ctx, e)
}

// sendDirect posts e straight to the functions, as a Trigger would.
func (s *Stack) sendDirect(ctx context.Context, e cloudevents.Event) (int, *cloudevents.Event, error) {
	status, header, body, err := post(ctx, s.FunctionsURL, e)
	if err != nil {
		return status, nil, err
	}
	if t := header.Get("Ce-Type"); t != "" {
		r := cloudevents.NewEvent()
		r.SetType(t)
		r.SetID(header.Get("Ce-Id"))
		r.SetSource(header.Get("Ce-Source"))
		r.SetSubject(header.Get("Ce-Subject"))
		_ = r.SetData(events.ContentTypeJSON, json.RawMessage(body))
		return status, &r, nil
	}
	return status, nil, nil
}

// post sends e to url in binary mode and returns the answer; a status of
// 300 or more is an error carrying the body.
func post(ctx context.Context, url string, e cloudevents.Event) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if err := cehttp.WriteRequest(binding.WithForceBinary(ctx), binding.ToMessage(&e), req); err != nil {
		return 0, nil, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s to %s: %w", e.Type(), e.ID(), url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(bufio.NewReader(resp.Body))
	if resp.StatusCode >= 300 {
		return resp.StatusCode, resp.Header, body, fmt.Errorf("%s %s to %s: HTTP %d: %s", e.Type(), e.ID(), url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return resp.StatusCode, resp.Header, body, nil
}
