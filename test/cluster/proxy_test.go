package cluster

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
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
