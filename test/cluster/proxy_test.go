package cluster

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestProxyRoutesClusterHosts: a routed host reaches its process with the
// Host header kept, any InMemoryChannel host reaches the dispatcher, an
// unrouted host gets 502 (which Knative retries, as for a Service with no
// ready pod), and removing a route takes effect at once.
func TestProxyRoutesClusterHosts(t *testing.T) {
	backend := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.Host+" "+r.URL.Path)
		}))
	}
	fn, disp := backend("functions"), backend("dispatcher")
	defer fn.Close()
	defer disp.Close()
	routes := t.TempDir()
	p, err := startProxy(routes, strings.TrimPrefix(disp.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	host := ServiceHost("iter8-system", "iter8-functions")
	if err := route(routes, host, strings.TrimPrefix(fn.URL, "http://")); err != nil {
		t.Fatal(err)
	}
	proxyURL, _ := url.Parse("http://" + p.addr)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		url, want string
		status    int
	}{
		{"http://" + host + "/x", "functions " + host + " /x", 200},
		{"http://iter8-kn-channel.iter8-system.svc.cluster.local/", "dispatcher iter8-kn-channel.iter8-system.svc.cluster.local /", 200},
		{"http://nobody.iter8-system.svc.cluster.local/", "", 502},
	} {
		status, body := get(c.url)
		if status != c.status || (c.want != "" && body != c.want) {
			t.Errorf("GET %s: %d %q, want %d %q", c.url, status, body, c.status, c.want)
		}
	}
	if err := route(routes, host, ""); err != nil {
		t.Fatal(err)
	}
	if status, _ := get("http://" + host + "/"); status != http.StatusBadGateway {
		t.Errorf("after removing the route: %d, want 502", status)
	}
}

// TestProxySpreadsOverReplicas: a host routed to several backends has its
// requests taken by each in turn, as a Service's by its ready pods; a
// backend that is down answers 502 (which Knative retries, reaching the
// next); routing it to one backend again sends everything there.
func TestProxySpreadsOverReplicas(t *testing.T) {
	var addrs []string
	for _, name := range []string{"r0", "r1", "r2"} {
		b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		defer b.Close()
		addrs = append(addrs, strings.TrimPrefix(b.URL, "http://"))
	}
	routes := t.TempDir()
	p, err := startProxy(routes, "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	host := ServiceHost("iter8-system", "iter8-functions")
	proxyURL, _ := url.Parse("http://" + p.addr)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	spread := func(n int) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range n {
			resp, err := client.Get("http://" + host + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				got[fmt.Sprint(resp.StatusCode)]++
				continue
			}
			got[string(b)]++
		}
		return got
	}
	for _, c := range []struct {
		name     string
		backends []string
		want     map[string]int
	}{
		{"three replicas", addrs, map[string]int{"r0": 4, "r1": 4, "r2": 4}},
		{"one of them down", []string{addrs[0], "127.0.0.1:1", addrs[2]}, map[string]int{"r0": 4, "502": 4, "r2": 4}},
		{"one replica", addrs[1:2], map[string]int{"r1": 12}},
	} {
		if err := route(routes, host, c.backends...); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, spread(12)); diff != "" {
			t.Errorf("%s: requests per backend (-want +got):\n%s", c.name, diff)
		}
	}
}
