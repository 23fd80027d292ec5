// Command iter8-functions serves iter8's stateless Knative functions: it
// receives CloudEvents over HTTP, routes them by type, and keeps every
// experiment in its Knative Service's annotations.
//
//	iter8-functions [--listen :8080] [--kubeconfig FILE] [--namespaces NS,...] [--request-timeout 30s]
//
// PORT (set by Knative) overrides the listen port; K_SINK, when set,
// receives every emitted event. In a cluster it uses the pod's service
// account; elsewhere --kubeconfig, KUBECONFIG or ~/.kube/config.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/pkg/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "iter8-functions:", err)
		os.Exit(1)
	}
}

func run() error {
	start := time.Now()
	listen := flag.String("listen", ":8080", "address to listen on; PORT overrides the port")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default: in-cluster, then KUBECONFIG, then ~/.kube/config)")
	source := flag.String("source", envOr("ITER8_SOURCE", functions.DefaultSource), "CloudEvents source of emitted events")
	logFormat := flag.String("log-format", envOr("ITER8_LOG_FORMAT", "json"), "json or text")
	grace := flag.Duration("grace", 25*time.Second, "how long in-flight events may run after SIGTERM")
	deadLetters := flag.Bool("dead-letters", false, "only log the events received (a dead-letter sink)")
	// client-go's default of 5 requests/s would cap the functions at about
	// 2.5 events/s, since each event takes a read and a write.
	qps := flag.Float64("kube-qps", 100, "API requests per second this process may make")
	burst := flag.Int("kube-burst", 200, "API request burst")
	timeout := flag.Duration("request-timeout", envSeconds("ITER8_TIMEOUT_SECONDS", functions.DefaultRequestTimeout),
		"the platform's request timeout (Knative's timeoutSeconds); every event is answered well within it")
	namespaces := flag.String("namespaces", os.Getenv("ITER8_NAMESPACES"),
		"comma-separated namespaces whose experiments the tick collects (the per-namespace Roles); empty: all (the ClusterRole)")
	tickWorkers := flag.Int("tick-workers", functions.DefaultTickWorkers, "experiments one tick collects at once")
	flag.Parse()

	log := newLogger(*logFormat)
	slog.SetDefault(log)
	addr := *listen
	if port := os.Getenv("PORT"); port != "" {
		host, _, _ := net.SplitHostPort(addr)
		addr = net.JoinHostPort(host, port)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	cfg, err := restConfig(*kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	sv, err := servingclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	st := store.New(sv.ServingV1())
	opts := []functions.Option{functions.WithSource(*source), functions.WithLogger(log),
		functions.WithNamespaces(splitList(*namespaces)...), functions.WithTickWorkers(*tickWorkers)}
	if sink := os.Getenv("K_SINK"); sink != "" {
		emit, err := functions.SinkEmitter(sink)
		if err != nil {
			return err
		}
		opts = append(opts, functions.WithEmitter(emit))
	}
	collect, err := collectorOptions(log)
	if err != nil {
		return err
	}
	opts = append(opts, collect...)
	h := functions.New(st, opts...)
	if *deadLetters {
		h = functions.New(st, append(opts, functions.WithDeadLetters())...)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("ready", slog.Duration("startup", time.Since(start)), slog.Duration("request-timeout", *timeout),
		slog.Any("namespaces", splitList(*namespaces)))
	srv := functions.NewServer(h, st)
	srv.Timeouts = functions.TimeoutsFor(*timeout)
	return srv.Serve(ctx, ln, *grace)
}

func restConfig(path string) (*rest.Config, error) {
	if path == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration: %w", err)
	}
	return cfg, nil
}

func newLogger(format string) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, nil))
}

// envSeconds reads a whole number of seconds, as Knative's timeoutSeconds.
func envSeconds(k string, def time.Duration) time.Duration {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return def
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
