package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BrokerIngressURL is the in-cluster address of Broker ns/name, as Knative
// writes it into the Broker's status.address.url. Programs given ProxyEnv
// (say, the functions with K_SINK set to it) reach it through the proxy.
func BrokerIngressURL(ns, name string) string {
	return "http://" + ServiceHost(eventingNamespace, "broker-ingress") + "/" + ns + "/" + name
}

// Route makes requests for host (see ServiceHost) reach addr
// ("127.0.0.1:PORT"), a process the caller runs in place of a Service's
// pods, such as the real iter8-functions; an empty addr removes the route.
// It works from the test binary's child as well as from the process that
// started the stack.
func (c *Cluster) Route(host, addr string) error { return c.RouteReplicas(host, addr) }

// RouteReplicas makes requests for host reach each of addrs in turn (round
// robin), as a Service's requests reach its ready pods: several
// iter8-functions processes behind one Trigger, say. No addrs removes the
// route.
func (c *Cluster) RouteReplicas(host string, addrs ...string) error {
	info, err := c.eventingInfo()
	if err != nil {
		return err
	}
	return route(info.RoutesDir, host, addrs...)
}

// MustRoute is Route for tests: it fails t on error and removes the route
// when t ends.
func (c *Cluster) MustRoute(t testing.TB, host, addr string) {
	t.Helper()
	if err := c.Route(host, addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Route(host, "") })
}

// ProxyEnv is the environment that sends a program's requests for
// *.svc.cluster.local hosts through the stack's proxy, as cluster DNS would.
func (c *Cluster) ProxyEnv() ([]string, error) {
	info, err := c.eventingInfo()
	if err != nil {
		return nil, err
	}
	return []string{"HTTP_PROXY=http://" + info.Proxy, "NO_PROXY=127.0.0.1,localhost"}, nil
}

// ProxyURL is the address of the stack's forward proxy, for an
// http.Transport's Proxy in the test process itself.
func (c *Cluster) ProxyURL() (string, error) {
	info, err := c.eventingInfo()
	if err != nil {
		return "", err
	}
	return "http://" + info.Proxy, nil
}

// BrokerURL is the local address of Broker ns/name on the broker ingress
// process: what a sender outside the cluster would POST to through a
// port-forward. The ingress routes by path.
func (c *Cluster) BrokerURL(ns, name string) (string, error) {
	info, err := c.eventingInfo()
	if err != nil {
		return "", err
	}
	return "http://127.0.0.1:" + strconv.Itoa(info.IngressPort) + "/" + ns + "/" + name, nil
}

// EventingLog returns the log of one Eventing process (eventing-controllers,
// broker-ingress, broker-filter, imc-dispatcher, mtping) so far.
func (c *Cluster) EventingLog(process string) string {
	b, _ := os.ReadFile(filepath.Join(c.workDir, process+".log"))
	return string(b)
}

func (c *Cluster) eventingInfo() (eventingInfo, error) {
	if c.eventing != nil {
		return c.eventing.info, nil
	}
	var info eventingInfo
	b, err := os.ReadFile(filepath.Join(c.workDir, "eventing.json"))
	if err != nil {
		return info, fmt.Errorf("%w: %w", errNoEventing, err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("cluster: eventing.json: %w", err)
	}
	return info, nil
}
