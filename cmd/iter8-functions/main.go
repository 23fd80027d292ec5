// Command iter8-functions serves iter8's stateless Knative functions: it
// receives CloudEvents over HTTP, routes them by type, and keeps every
// experiment in its Knative Service's annotations.
//
//	iter8-functions [--listen :8080] [--kubeconfig FILE] [--source URI]
//	                [--log-format json|text] [--grace 25s] [--dead-letters]
//	                [--kube-qps 100] [--kube-burst 200] [--namespaces NS,...]
//	                [--request-timeout 30s] [--tick-workers 4] [--tick-senders 32]
//	                [--collect-concurrency 8] [--tick-period 0]
//
// PORT (set by Knative) overrides the listen port; K_SINK, when set,
// receives every emitted event that is not the reply (Knative sends the
// reply on itself); ITER8_PROMETHEUS_URL, when set, turns on the metrics
// collector on the PingSource tick (see docs/metrics.md). With K_SINK the
// tick fans out: it emits one dev.iter8.experiment.collect event per
// running experiment, which any replica collects (ITER8_TICK_FANOUT=false
// collects in the replica the tick reaches instead). In a cluster it
// uses the pod's service account; elsewhere --kubeconfig, KUBECONFIG or
// ~/.kube/config.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/iter8-knative/iter8/functions"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "iter8-functions:", err)
		os.Exit(1)
	}
}

func run() error {
	start := time.Now()
	env := functions.SettingsFromEnv(os.LookupEnv)
	listen := flag.String("listen", ":8080", "address to listen on; PORT overrides the port")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default: in-cluster, then KUBECONFIG, then ~/.kube/config)")
	flag.StringVar(&env.Source, "source", env.Source, "CloudEvents source of emitted events (ITER8_SOURCE)")
	logFormat := flag.String("log-format", envOr("ITER8_LOG_FORMAT", "json"), "json or text")
	grace := flag.Duration("grace", 25*time.Second, "how long in-flight events may run after SIGTERM")
	deadLetters := flag.Bool("dead-letters", false, "only log the events received (a dead-letter sink)")
	qps := flag.Float64("kube-qps", functions.DefaultKubeQPS, "API requests per second this process may make")
	burst := flag.Int("kube-burst", functions.DefaultKubeBurst, "API request burst")
	flag.DurationVar(&env.RequestTimeout, "request-timeout", env.RequestTimeout,
		"the platform's request timeout (Knative's timeoutSeconds, ITER8_TIMEOUT_SECONDS); every event is answered well within it")
	namespaces := flag.String("namespaces", strings.Join(env.Namespaces, ","),
		"comma-separated namespaces whose experiments the tick collects (the per-namespace Roles; ITER8_NAMESPACES); empty: all (the ClusterRole)")
	flag.IntVar(&env.TickWorkers, "tick-workers", env.TickWorkers, "experiments one tick collects at once in process, without fan-out (ITER8_TICK_WORKERS)")
	flag.IntVar(&env.TickSenders, "tick-senders", env.TickSenders, "collect events one tick has in flight to K_SINK at once (ITER8_TICK_SENDERS)")
	flag.IntVar(&env.CollectConcurrency, "collect-concurrency", env.CollectConcurrency, "collect events this process handles at once (ITER8_COLLECT_CONCURRENCY)")
	flag.DurationVar(&env.TickPeriod, "tick-period", env.TickPeriod, "the PingSource's period: a tick collects up to its time truncated to it (ITER8_TICK_PERIOD); 0: the tick's own time")
	flag.Parse()
	env.Namespaces = functions.SplitList(*namespaces)

	log := newLogger(*logFormat)
	slog.SetDefault(log)
	addr := *listen
	if port := os.Getenv("PORT"); port != "" {
		host, _, _ := net.SplitHostPort(addr)
		addr = net.JoinHostPort(host, port)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	cfg, err := functions.KubeConfig(*kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	var extra []functions.Option
	if *deadLetters {
		extra = append(extra, functions.WithDeadLetters())
	}
	srv, err := env.Server(cfg, log, os.LookupEnv, extra...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("ready", slog.Duration("startup", time.Since(start)), slog.Duration("request-timeout", env.RequestTimeout),
		slog.Any("namespaces", env.Namespaces), slog.Bool("sink-token", env.SinkTokenFile != ""))
	return srv.Serve(ctx, ln, *grace)
}

func newLogger(format string) *slog.Logger {
	if format == "text" {
		return slog.New(functions.CapLogValues(slog.NewTextHandler(os.Stderr, nil)))
	}
	return slog.New(functions.CapLogValues(slog.NewJSONHandler(os.Stderr, nil)))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
