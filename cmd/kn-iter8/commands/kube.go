package commands

import (
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"
	servingv1client "knative.dev/serving/pkg/client/clientset/versioned/typed/serving/v1"
)

// kubeFlags are kn's global flags (`kn options` lists them). kn hands its
// global flags on to plugins, so kn-iter8 accepts every one of them: the
// connection flags work as in kn; --log-http logs each HTTP request and
// response of the plugin (loghttp.go), --no-log-http turns that off;
// --config is accepted and has no effect here (help says so); --plugins-dir and
// --lookup-plugins, kn's own business, are accepted and hidden, as kn hides
// them.
type kubeFlags struct {
	kubeconfig, context, cluster string
	namespace                    string
	as, asUID                    string
	asGroups                     []string

	// logHTTP and noLogHTTP are --log-http and kn's negation of it;
	// httpLog is where the lines go (stderr).
	logHTTP, noLogHTTP bool
	httpLog            io.Writer

	ignoredString string
	ignoredBool   bool
}

func (f *kubeFlags) register(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&f.kubeconfig, "kubeconfig", "", "kubectl configuration file (default: $KUBECONFIG, then ~/.kube/config)")
	pf.StringVar(&f.context, "context", "", "name of the kubeconfig context to use")
	pf.StringVar(&f.cluster, "cluster", "", "name of the kubeconfig cluster to use")
	pf.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the Service (default: the context's namespace)")
	pf.StringVar(&f.as, "as", "", "username to impersonate for the operation")
	pf.StringArrayVar(&f.asGroups, "as-group", nil, "group to impersonate for the operation; repeat for several")
	pf.StringVar(&f.asUID, "as-uid", "", "UID to impersonate for the operation")
	// kn's own global flags, which kn hands on to plugins.
	pf.StringVar(&f.ignoredString, "config", "", "kn configuration file (kn's global flag; accepted, no effect in kn iter8)")
	pf.BoolVar(&f.logHTTP, "log-http", false, "log each HTTP request and response (method, URL without its query, status, time; no headers or bodies) to stderr")
	pf.BoolVar(&f.noLogHTTP, "no-log-http", false, "do not log HTTP requests (overrides --log-http)")
	pf.StringVar(&f.ignoredString, "plugins-dir", "", "kn plugins directory (kn's business; accepted, no effect in kn iter8)")
	pf.BoolVar(&f.ignoredBool, "lookup-plugins", false, "look up kn plugins in $PATH (kn's business; accepted, no effect in kn iter8)")
	// As in kn: the negative bool flag and the plugin settings are hidden.
	for _, name := range []string{"no-log-http", "plugins-dir", "lookup-plugins"} {
		_ = pf.MarkHidden(name)
	}
}

// clientConfig loads the kubeconfig as kubectl and kn do: --kubeconfig,
// else $KUBECONFIG, else ~/.kube/config, with the current context unless
// --context names another.
func (f *kubeFlags) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: f.context}
	overrides.Context.Cluster = f.cluster
	overrides.AuthInfo.Impersonate = f.as
	overrides.AuthInfo.ImpersonateUID = f.asUID
	overrides.AuthInfo.ImpersonateGroups = f.asGroups
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// clients are the cluster connections a command needs.
type clients struct {
	// namespace is -n, else the context's namespace, else "default".
	namespace string
	serving   servingv1client.ServingV1Interface
	// dynamic reads the iter8 Broker. The eventing clientset would do it
	// typed, but its scheme registers every eventing API group, one of which
	// drags k8s.io/apiserver into the module for one field.
	dynamic dynamic.Interface
	// kube requests OIDC tokens (oidc.go).
	kube kubernetes.Interface
}

// kubeClients connects to the cluster the flags name.
func kubeClients(f *kubeFlags) (*clients, error) {
	cc := f.clientConfig()
	ns := f.namespace
	if ns == "" {
		var err error
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "kn-iter8"
	if l := f.httpLogger(); l != nil {
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return wrapHTTP(rt, l) })
	}
	sv, err := servingclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("knative serving client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &clients{namespace: ns, serving: sv.ServingV1(), dynamic: dyn, kube: kube}, nil
}

// target is where a command acts: the clients, or why there are none, and
// the namespace. A command that can do without a cluster (plan, and start
// and the controls with --sink or --dry-run) still needs the namespace,
// and it must be the one the cluster reads use: a plan whose Prometheus
// queries and outlook read two namespaces plans a Service that is not
// there.
type target struct {
	cl  *clients
	err error
	// ns is -n, else the kubeconfig context's namespace when the
	// kubeconfig loads, else "default".
	ns string
}

// target connects to the cluster kf names.
func (e *env) target(kf *kubeFlags) target {
	cl, err := e.clients(kf)
	t := target{err: err, ns: kf.namespace}
	if err == nil {
		t.cl, t.ns = cl, cl.namespace
	}
	if t.ns == "" {
		t.ns = "default"
	}
	return t
}
