package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/ptr"
)

const (
	eventingNamespace = "knative-eventing"
	// dispatcherAddr is where the IMC dispatcher listens: its port is a
	// constant in its source, which is why the stack takes the host lock.
	dispatcherAddr = "127.0.0.1:8080"
	// dispatcherImage only has to be a digest: nothing pulls it, but the
	// IMC reconciler panics without one.
	dispatcherImage = "registry.example.com/knative/imc-dispatcher@sha256:0000000000000000000000000000000000000000000000000000000000000003"
	// stopGrace bounds how long a Knative process may take to stop on
	// SIGTERM before it is killed.
	stopGrace = 2 * time.Second
)

// eventingFiles are the manifests, relative to the eventing module, that a
// real install applies and that the controllers read: the system namespace,
// the shipped ConfigMaps and the Services and Deployments of the data
// plane. Nothing runs those Deployments; host processes do their work and
// the data-plane stand-in reports them Available.
var eventingFiles = []string{
	"config/core/100-namespace.yaml",
	"config/core/configmaps/*.yaml",
	"config/channels/in-memory-channel/configmaps/event-dispatcher.yaml",
	"config/brokers/mt-channel-broker/deployments/broker-ingress.yaml",
	"config/brokers/mt-channel-broker/deployments/broker-filter.yaml",
	"config/channels/in-memory-channel/deployments/dispatcher.yaml",
	"config/channels/in-memory-channel/deployments/dispatcher-service.yaml",
	"config/core/deployments/pingsource-mt-adapter.yaml",
}

// imcCRD is the InMemoryChannel CRD, outside config/core/resources.
const imcCRD = "config/channels/in-memory-channel/resources/in-memory-channel.yaml"

// eventingInfo is what a test binary's child needs to reach the stack that
// its parent started; it is written to the work directory.
type eventingInfo struct {
	Proxy       string `json:"proxy"`
	IngressPort int    `json:"ingressPort"`
	RoutesDir   string `json:"routesDir"`
}

type eventing struct {
	procs []*process
	proxy *clusterProxy
	info  eventingInfo
}

func startEventing(ctx context.Context, c *Cluster, logf func(string, ...any)) (_ *eventing, err error) {
	start := time.Now()
	dir, err := moduleDir(c.Root, "knative.dev/eventing")
	if err != nil {
		return nil, err
	}
	// One manifest, so that the API is discovered once.
	var manifest []byte
	for _, pattern := range eventingFiles {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(files) == 0 {
			return nil, fmt.Errorf("eventing: no manifest %s in %s", pattern, dir)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			manifest = append(append(manifest, "\n---\n"...), b...)
		}
	}
	if _, err := c.ApplyManifest(ctx, manifest, nil); err != nil {
		return nil, fmt.Errorf("eventing: installing from %s: %w", dir, err)
	}
	installed := time.Since(start)
	if err := readyEndpoints(ctx, c, "broker-ingress", "broker-filter", "imc-dispatcher"); err != nil {
		return nil, err
	}

	e := &eventing{}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	ports := map[string]int{}
	for _, n := range []string{"ingress", "ingress-tls", "filter", "filter-tls"} {
		if ports[n], err = freePort(); err != nil {
			return nil, err
		}
	}
	routes := filepath.Join(c.workDir, "routes")
	if e.proxy, err = startProxy(routes, dispatcherAddr); err != nil {
		return nil, err
	}
	for host, addr := range map[string]string{
		ServiceHost(eventingNamespace, "broker-ingress"): "127.0.0.1:" + strconv.Itoa(ports["ingress"]),
		ServiceHost(eventingNamespace, "broker-filter"):  "127.0.0.1:" + strconv.Itoa(ports["filter"]),
		ServiceHost(eventingNamespace, "imc-dispatcher"): dispatcherAddr,
	} {
		if err := route(routes, host, addr); err != nil {
			return nil, err
		}
	}
	e.info = eventingInfo{Proxy: e.proxy.addr, IngressPort: ports["ingress"], RoutesDir: routes}
	b, _ := json.Marshal(e.info)
	if err := os.WriteFile(filepath.Join(c.workDir, "eventing.json"), b, 0o644); err != nil {
		return nil, err
	}

	common := append([]string{
		"SYSTEM_NAMESPACE=" + eventingNamespace,
		"CONFIG_LOGGING_NAME=config-logging",
		"CONFIG_OBSERVABILITY_NAME=config-observability",
	}, e.proxyEnv()...)
	for _, p := range []struct {
		name, binary string
		env          []string
	}{
		{"eventing-controllers", "eventing-controllers", []string{"DISPATCHER_IMAGE=" + dispatcherImage}},
		{"imc-dispatcher", "imc-dispatcher", []string{"CONTAINER_NAME=dispatcher", "MAX_IDLE_CONNS=1000", "MAX_IDLE_CONNS_PER_HOST=1000"}},
		{"broker-ingress", "broker-ingress", []string{"NAMESPACE=" + eventingNamespace, "CONTAINER_NAME=ingress",
			"INGRESS_PORT=" + strconv.Itoa(ports["ingress"]), "INGRESS_PORT_HTTPS=" + strconv.Itoa(ports["ingress-tls"])}},
		{"broker-filter", "broker-filter", []string{"NAMESPACE=" + eventingNamespace, "CONTAINER_NAME=filter",
			"FILTER_PORT=" + strconv.Itoa(ports["filter"]), "FILTER_PORT_HTTPS=" + strconv.Itoa(ports["filter-tls"])}},
		// mtping waits up to K_NO_SHUTDOWN_AFTER seconds on SIGTERM to send
		// a due tick; stop's grace cuts that short.
		{"mtping", "mtping", []string{"NAMESPACE=" + eventingNamespace, "K_NO_SHUTDOWN_AFTER=59"}},
	} {
		prof, err := freePort()
		if err != nil {
			return nil, err
		}
		env := append(append([]string{"POD_NAME=" + p.name + "-local", "PROFILING_PORT=" + strconv.Itoa(prof)}, common...), p.env...)
		proc, err := startProcess(c, p.name, p.binary, env, "--kubeconfig", c.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("eventing: %w", err)
		}
		e.procs = append(e.procs, proc)
	}
	if err := e.waitListening(ctx, ports["ingress"], ports["filter"]); err != nil {
		return nil, err
	}
	logf("eventing: installed in %s; controllers, broker ingress (:%d), filter (:%d), IMC dispatcher (:8080) and mtping listening %s later; proxy %s",
		installed.Round(time.Millisecond), ports["ingress"], ports["filter"], (time.Since(start) - installed).Round(time.Millisecond), e.proxy.addr)
	return e, nil
}

// waitListening waits until the data plane accepts connections, so that a
// test's first event does not race the processes' start-up. A process that
// exits meanwhile fails the start with its log's path.
func (e *eventing) waitListening(ctx context.Context, ports ...int) error {
	addrs := []string{dispatcherAddr}
	for _, p := range ports {
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(p))
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, a := range addrs {
		for !dialable(a) {
			for _, p := range e.procs {
				if !p.running() {
					return fmt.Errorf("eventing: %s exited during start-up (log %s)", p.name, p.logPath)
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("eventing: nothing listens on %s: %w", a, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func (e *eventing) proxyEnv() []string {
	return []string{"HTTP_PROXY=http://" + e.proxy.addr, "NO_PROXY=127.0.0.1,localhost"}
}

func (e *eventing) stop() {
	stopAll(stopGrace, e.procs...)
	e.proxy.stop()
}

// readyEndpoints gives each of the Services one ready EndpointSlice, as the
// EndpointSlice controller would for a running pod: the Broker and
// InMemoryChannel reconcilers read them. The address is a placeholder that
// nothing dials (traffic goes through the proxy); validation refuses
// loopback addresses.
func readyEndpoints(ctx context.Context, c *Cluster, services ...string) error {
	kube := c.Kube()
	tcp := corev1.ProtocolTCP
	for _, svc := range services {
		es := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name: svc + "-local", Namespace: eventingNamespace,
				Labels: map[string]string{discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "iter8-test-cluster"},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{
				Addresses:  []string{"192.0.2.10"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.Bool(true)},
			}},
			Ports: []discoveryv1.EndpointPort{{Name: ptr.String("http"), Port: ptr.Int32(8080), Protocol: &tcp}},
		}
		if _, err := kube.DiscoveryV1().EndpointSlices(eventingNamespace).Create(ctx, es, metav1.CreateOptions{}); err != nil && !apierrs.IsAlreadyExists(err) {
			return fmt.Errorf("eventing: endpoints of %s: %w", svc, err)
		}
	}
	return nil
}

var errNoEventing = errors.New("cluster: this stack runs without Eventing (Options.Eventing)")
