package functions

import (
	"context"
	"fmt"
	"log/slog"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// HandleEvent handles one event as Serve's handler does (the Handle
// deadline, the status of each error class, the metrics) for a host that
// runs its own HTTP server, such as Knative Functions' func-go. A refusal
// is returned as an error that carries its HTTP status (a CloudEvents
// HTTP result), which the CloudEvents SDK answers with.
func (sv *Server) HandleEvent(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	reply, err := sv.handle(ctx, e)
	if err != nil {
		return nil, cehttp.NewResult(events.StatusOf(err), "%s", err.Error())
	}
	return reply, nil
}

// Default client limits: client-go's default of 5 requests/s would cap the
// functions at about 2.5 events/s, since each event takes a read and a
// write.
const (
	DefaultKubeQPS   = 100
	DefaultKubeBurst = 200
)

// KubeConfig is the Kubernetes client configuration: with path empty, the
// pod's service account in a cluster, else KUBECONFIG or ~/.kube/config;
// with the default client limits.
func KubeConfig(path string) (*rest.Config, error) {
	cfg, err := func() (*rest.Config, error) {
		if path == "" {
			if cfg, err := rest.InClusterConfig(); err == nil {
				return cfg, nil
			}
		}
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = path
		return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	}()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration: %w", err)
	}
	cfg.QPS, cfg.Burst = DefaultKubeQPS, DefaultKubeBurst
	return cfg, nil
}

// Server builds what an entry point serves: a store over the Knative
// Serving API at cfg, the handlers configured by s (plus extra options),
// and their server with the timeouts of s's request timeout.
func (s Settings) Server(cfg *rest.Config, log *slog.Logger, lookup func(string) (string, bool), extra ...Option) (*Server, error) {
	sv, err := servingclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	st := store.New(sv.ServingV1())
	opts, err := s.Options(log, lookup)
	if err != nil {
		return nil, err
	}
	srv := NewServer(New(st, append(opts, extra...)...), st)
	srv.Timeouts = TimeoutsFor(s.RequestTimeout)
	return srv, nil
}
