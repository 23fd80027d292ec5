package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/test/cluster"
)

// SystemNamespace, BrokerName and the Service names are what config/
// installs.
const (
	SystemNamespace = "iter8-system"
	BrokerName      = "iter8"
	FunctionsName   = "iter8-functions"
	DeadLettersName = "iter8-dead-letters"
	// PingSourceName is config/'s PingSource, which ticks every minute.
	PingSourceName = "iter8-collect"
	// InstallDir is the kustomization the stack installs, with the command
	// README prints: `kubectl apply -k config/namespaced`.
	InstallDir = "config/namespaced"
	// recorderName is the Service host of the Trigger that lets a test see
	// every event on the Broker, the functions' replies included.
	recorderName = "stack-recorder"
)

// brokerPath is how events reach the functions on a stack with Knative
// Eventing: through the Broker's ingress, the InMemoryChannel and the
// Triggers of config/, as on a cluster.
type brokerPath struct {
	url string
	// Events sees every event on the Broker; DeadLetters is the dead-letter
	// sink of config/ (the Service iter8-dead-letters).
	events, deadLetters *Recorder
}

var (
	gvrBroker     = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"}
	gvrTrigger    = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "triggers"}
	gvrPingSource = schema.GroupVersionResource{Group: "sources.knative.dev", Version: "v1", Resource: "pingsources"}
	gvrKService   = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}
)

// Install applies config/ with the documented command, `kubectl apply -k
// DIR` (kubectl from bin/, the cluster's kubeconfig in KUBECONFIG), run from
// the repository root as a user would.
func Install(ctx context.Context, c *cluster.Cluster, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "kubectl"), "apply", "-k", dir)
	cmd.Dir = c.Root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl apply -k %s: %w: %s", dir, err, out)
	}
	return string(out), nil
}

// WaitReady waits until every object config/ installs in iter8-system that
// has a Ready condition reports Ready=True: the Broker, each Trigger, the
// PingSource and both Knative Services.
func WaitReady(ctx context.Context, c *cluster.Cluster) error {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	var notReady []string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		notReady = nil
		for _, gvr := range []schema.GroupVersionResource{gvrBroker, gvrTrigger, gvrPingSource, gvrKService} {
			list, err := dyn.Resource(gvr).Namespace(SystemNamespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			if len(list.Items) == 0 {
				notReady = append(notReady, "no "+gvr.Resource)
			}
			for _, u := range list.Items {
				if ok, why := ready(u); !ok {
					notReady = append(notReady, fmt.Sprintf("%s/%s: %s", gvr.Resource, u.GetName(), why))
				}
			}
		}
		return len(notReady) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("config/ in %s not Ready: %s: %w", SystemNamespace, strings.Join(notReady, "; "), err)
	}
	return nil
}

// ready reads an object's Ready condition.
func ready(u unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			return m["status"] == "True", fmt.Sprintf("%v %v", m["reason"], m["message"])
		}
	}
	return false, "no Ready condition yet"
}

// startBroker installs config/, routes its Services to local processes (the
// functions to the replicas at fnAddrs, in turn; the dead-letter sink to a
// Recorder), adds a Trigger that shows every event on the Broker, and
// waits until all are Ready. Without cron, the PingSource is then deleted
// (Options.CronTicks); the next install creates it again as config/ has
// it. Deleted rather than given another schedule: `kubectl apply` would
// keep a schedule changed outside it, and a later stack that wants the
// cron ticks would not get them.
func (s *Stack) startBroker(ctx context.Context, cron bool, fnAddrs ...string) error {
	c := s.Cluster
	b := &brokerPath{}
	s.broker = b
	var err error
	if b.events, err = NewRecorder(); err != nil {
		return err
	}
	if b.deadLetters, err = NewRecorder(); err != nil {
		return err
	}
	for host, addrs := range map[string][]string{
		cluster.ServiceHost(SystemNamespace, FunctionsName):   fnAddrs,
		cluster.ServiceHost(SystemNamespace, DeadLettersName): {b.deadLetters.Addr},
		cluster.ServiceHost(SystemNamespace, recorderName):    {b.events.Addr},
	} {
		if err := c.RouteReplicas(host, addrs...); err != nil {
			return err
		}
	}
	if b.url, err = c.BrokerURL(SystemNamespace, BrokerName); err != nil {
		return err
	}
	start := time.Now()
	if _, err := Install(ctx, c, InstallDir); err != nil {
		return err
	}
	recorder := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {eventing.knative.dev/broker: %[3]s}
spec:
  broker: %[3]s
  subscriber:
    uri: http://%[4]s
`, recorderName, SystemNamespace, BrokerName, cluster.ServiceHost(SystemNamespace, recorderName))
	if _, err := c.ApplyManifest(ctx, []byte(recorder), nil); err != nil {
		return err
	}
	if err := WaitReady(ctx, c); err != nil {
		return err
	}
	s.Logf("broker: config/ installed with `kubectl apply -k %s`; Broker, Triggers, PingSource and Services Ready in %s", InstallDir, time.Since(start).Round(time.Millisecond))
	if cron {
		return nil
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	if err := dyn.Resource(gvrPingSource).Namespace(SystemNamespace).Delete(ctx, PingSourceName, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("deleting PingSource %s/%s, whose cron ticks the test must not see: %w", SystemNamespace, PingSourceName, err)
	}
	s.Logf("broker: PingSource %s deleted: the test's ticks are the only ones", PingSourceName)
	return nil
}

func (b *brokerPath) stop() {
	if b == nil {
		return
	}
	b.events.Stop()
	b.deadLetters.Stop()
}

// sendBroker posts e to the Broker's ingress, as a producer in the cluster
// would, and returns the most significant event the functions emitted for
// it (the reply; "" for none). The InMemoryChannel fans out synchronously,
// so once the ingress has answered, the Triggers have delivered e and the
// functions' reply and K_SINK events have been through the Broker.
func (s *Stack) sendBroker(ctx context.Context, e cloudevents.Event) (int, *cloudevents.Event, error) {
	b := s.broker
	mark := b.events.Mark()
	status, _, _, err := post(ctx, b.url, e)
	if err != nil {
		return status, nil, err
	}
	// The Broker also hands e itself to the recorder's Trigger: wait for it,
	// so that everything fanned out with it has arrived too.
	if _, err := b.events.Wait(ctx, mark, func(got cloudevents.Event) bool { return got.ID() == e.ID() && got.Source() == e.Source() }); err != nil {
		return status, nil, err
	}
	var reply *cloudevents.Event
	for _, got := range b.events.Since(mark) {
		if got.Subject() != e.Subject() || rank[got.Type()] == 0 {
			continue
		}
		if reply == nil || rank[got.Type()] > rank[reply.Type()] {
			g := got
			reply = &g
		}
	}
	return status, reply, nil
}

// rank orders the functions' outbound events as they choose their reply.
var rank = map[string]int{
	events.TypeExperimentAssessed:  1,
	events.TypeExperimentStarted:   2,
	events.TypeTrafficChanged:      3,
	events.TypeExperimentCompleted: 4,
	events.TypeExperimentFailed:    5,
}

// DeadLetters is the dead-letter sink of config/ on a stack with a Broker:
// it receives what Knative gave up on, with its error extensions.
func (s *Stack) DeadLetters() *Recorder { return s.broker.deadLetters }

// BrokerEvents sees every event that passes through the Broker.
func (s *Stack) BrokerEvents() *Recorder { return s.broker.events }

// RouteFunctions sends the Triggers' deliveries for the functions to addr
// instead of the functions servers, e.g. to a fault-injecting proxy in
// front of them; "" routes them back to the functions' replicas.
func (s *Stack) RouteFunctions(addr string) error {
	if addr == "" {
		return s.Cluster.RouteReplicas(cluster.ServiceHost(SystemNamespace, FunctionsName), s.functionsAddrs()...)
	}
	return s.Cluster.Route(cluster.ServiceHost(SystemNamespace, FunctionsName), addr)
}
