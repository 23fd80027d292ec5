package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// clusterDomain is the suffix of every in-cluster Service host.
const clusterDomain = ".svc.cluster.local"

// ServiceHost is the in-cluster host name of Service name in namespace ns,
// the host Knative addresses it by.
func ServiceHost(ns, name string) string { return name + "." + ns + clusterDomain }

// clusterProxy is a forward HTTP proxy that stands in for cluster DNS and
// Services: every Eventing process (and any program given ProxyEnv) sends
// requests for *.svc.cluster.local through it, and it forwards each to the
// local process routed for that host, keeping the Host header, which the IMC
// dispatcher uses to find its channel. Eventing's senders clone
// http.DefaultTransport, which honours HTTP_PROXY; Go never proxies loopback,
// so API-server traffic goes direct.
//
// Routes live as files in a directory (one file per host holding
// "127.0.0.1:PORT", one line per backend), so that a test binary's child
// process can route hosts to the processes it starts while the parent runs
// the proxy. A host with several backends, as a Service with several
// ready pods, has its requests spread over them in turn (round robin, as
// kube-proxy's and the activator's balancing spread them). A host with no
// route gets 502, which Knative retries and then dead-letters, as it would
// for a Service with no ready pod.
type clusterProxy struct {
	srv       *http.Server
	addr      string
	routesDir string
	// channels is where every InMemoryChannel host goes: the dispatcher.
	channels string
	// turns counts the requests to each host, to take its backends in turn.
	mu    sync.Mutex
	turns map[string]int
}

func startProxy(routesDir, channels string) (*clusterProxy, error) {
	if err := os.MkdirAll(routesDir, 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cluster proxy: %w", err)
	}
	p := &clusterProxy{addr: l.Addr().String(), routesDir: routesDir, channels: channels, turns: map[string]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = pr.In.Context().Value(targetKey{}).(string)
			pr.Out.Host = pr.In.Host
		},
		// Never proxy again, whatever this process's environment says.
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 100, IdleConnTimeout: 30 * time.Second},
	}
	p.srv = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.URL.Hostname()
			if host == "" {
				host, _, _ = strings.Cut(r.Host, ":")
			}
			target, ok := p.lookup(host)
			if !ok {
				http.Error(w, "cluster proxy: no route for "+host, http.StatusBadGateway)
				return
			}
			rp.ServeHTTP(w, r.WithContext(withTarget(r.Context(), target)))
		}),
	}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// lookup finds the local address for host: a routed host first (the next
// of its backends in turn), then any InMemoryChannel
// (NAME-kn-channel.NS.svc.cluster.local).
func (p *clusterProxy) lookup(host string) (string, bool) {
	if b, err := os.ReadFile(filepath.Join(p.routesDir, host)); err == nil {
		backends := strings.Fields(string(b))
		if len(backends) == 0 {
			return "", false
		}
		p.mu.Lock()
		turn := p.turns[host]
		p.turns[host]++
		p.mu.Unlock()
		return backends[turn%len(backends)], true
	}
	if first, _, ok := strings.Cut(host, "."); ok && strings.HasSuffix(first, "-kn-channel") && strings.HasSuffix(host, clusterDomain) {
		return p.channels, true
	}
	return "", false
}

func (p *clusterProxy) stop() {
	if p != nil && p.srv != nil {
		_ = p.srv.Close()
	}
}

// route points host at addrs (host:port each), taken in turn; none removes
// the route. The file is replaced atomically, so a request never reads
// half of it.
func route(routesDir, host string, addrs ...string) error {
	if strings.ContainsAny(host, "/\\") || host == "" {
		return fmt.Errorf("cluster proxy: bad host %q", host)
	}
	path := filepath.Join(routesDir, host)
	addr := strings.Join(slices.DeleteFunc(slices.Clone(addrs), func(a string) bool { return a == "" }), "\n")
	if addr == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type targetKey struct{}

func withTarget(ctx context.Context, target string) context.Context {
	return context.WithValue(ctx, targetKey{}, target)
}
