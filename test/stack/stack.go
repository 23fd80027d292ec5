package stack

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
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

	// FunctionsURLs are every replica's, FunctionsURL first.
	FunctionsURLs []string

	broker   *brokerPath
	replicas []*deliver.Functions
	ownsCl   bool
	counter  int
}

// Options configure Start.
type Options struct {
	// Cluster reuses a running control plane (with Knative); Start starts
	// one when nil.
	Cluster *cluster.Cluster
	Logf    func(format string, args ...any)
	// FunctionsLog also receives the functions servers' JSON logs as they
	// come; Stack.FunctionsLog returns them in any case.
	FunctionsLog io.Writer
	// Env is added to the functions' environment, such as the collector's
	// settings (PrometheusPath.Env).
	Env []string
	// Replicas is how many iter8-functions processes serve the functions'
	// Service (default 1). With a Broker, the Triggers' deliveries are
	// spread over them in turn (cluster.RouteReplicas), as over a
	// Service's pods.
	Replicas int
	// Broker sends every event through Knative Eventing, as on a cluster:
	// config/ is installed with `kubectl apply -k config/namespaced`, events
	// go to the Broker's ingress and reach the functions through its
	// Triggers, replies and K_SINK events go back through the Broker. The
	// cluster must run Eventing (cluster.Options{Eventing: true}).
	Broker bool
	// CronTicks keeps config/'s PingSource on its schedule (every
	// minute), as installed. Without it the stack deletes the PingSource
	// once it is Ready, so that the ticks a test sends
	// are the only ones: a cron tick between two of them folds a window
	// of its own, which a test counting one window a tick must not see
	// (TestCollectorDrivesABN failed so on a minute boundary).
	CronTicks bool
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
	for range max(o.Replicas, 1) {
		t0 := time.Now()
		r, err := startReplica(ctx, s.Cluster, o.FunctionsLog, env)
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.Logf("functions: iter8-functions ready at %s in %s (pid %d)", r.URL, time.Since(t0).Round(time.Millisecond), r.PID())
		s.replicas = append(s.replicas, r)
		s.FunctionsURLs = append(s.FunctionsURLs, r.URL)
	}
	s.FunctionsURL = s.FunctionsURLs[0]
	if o.Broker {
		if err := s.startBroker(ctx, o.CronTicks, s.functionsAddrs()...); err != nil {
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

// Stop ends the functions servers (SIGTERM, so they finish in-flight
// events) and the control plane if Start started it.
func (s *Stack) Stop() {
	for _, r := range s.replicas {
		r.Stop()
	}
	s.broker.stop()
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
