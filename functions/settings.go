package functions

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
)

// Settings are what the functions read from their environment, as
// config/base/300-functions.yaml (or func.yaml) sets it. The binary
// (cmd/iter8-functions) and the Knative Functions entry point (the root
// package) both build their handlers from them.
type Settings struct {
	// Source is the CloudEvents source of emitted events (ITER8_SOURCE).
	Source string
	// Namespaces limit the tick (ITER8_NAMESPACES, comma-separated);
	// empty means all namespaces.
	Namespaces []string
	// RequestTimeout is Knative's timeoutSeconds (ITER8_TIMEOUT_SECONDS).
	RequestTimeout time.Duration
	// TickWorkers is how many experiments a tick collects at once in
	// process (ITER8_TICK_WORKERS).
	TickWorkers int
	// Fanout makes the tick emit one collect event per experiment to Sink
	// instead of collecting in process (ITER8_TICK_FANOUT, on unless
	// "false"; it takes a Sink). TickSenders bounds the collect events a
	// tick has in flight (ITER8_TICK_SENDERS), CollectConcurrency those
	// one replica handles at once (ITER8_COLLECT_CONCURRENCY).
	Fanout                          bool
	TickSenders, CollectConcurrency int
	// TickPeriod is the PingSource's period (ITER8_TICK_PERIOD, a Go
	// duration): each tick collects up to its time truncated to it.
	TickPeriod time.Duration
	// Sink receives every emitted event (K_SINK); SinkTokenFile holds the
	// OIDC token for its audience (see sinkTokenFile), when it has one.
	Sink, SinkTokenFile string
}

// SettingsFromEnv reads Settings through lookup (os.LookupEnv).
func SettingsFromEnv(lookup func(string) (string, bool)) Settings {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	s := Settings{Source: DefaultSource, RequestTimeout: DefaultRequestTimeout, TickWorkers: DefaultTickWorkers,
		Namespaces: SplitList(get("ITER8_NAMESPACES")), Sink: get("K_SINK"), SinkTokenFile: sinkTokenFile(lookup)}
	if v := get("ITER8_SOURCE"); v != "" {
		s.Source = v
	}
	if n, err := strconv.Atoi(get("ITER8_TIMEOUT_SECONDS")); err == nil && n > 0 {
		s.RequestTimeout = time.Duration(n) * time.Second
	}
	s.Fanout = get("ITER8_TICK_FANOUT") != "false"
	s.TickWorkers = positive(get("ITER8_TICK_WORKERS"), DefaultTickWorkers)
	s.TickSenders = positive(get("ITER8_TICK_SENDERS"), DefaultTickSenders)
	s.CollectConcurrency = positive(get("ITER8_COLLECT_CONCURRENCY"), DefaultCollectConcurrency)
	if d, err := time.ParseDuration(get("ITER8_TICK_PERIOD")); err == nil && d > 0 {
		s.TickPeriod = d
	}
	return s
}

// positive reads a positive integer, or returns def.
func positive(v string, def int) int {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return n
	}
	return def
}

// Options returns the handler options for s: the source, the tick's
// namespaces and workers, the K_SINK emitter (with an OIDC token when the
// sink has an audience), the load generator with its ceiling
// (ITER8_LOAD_MAX_RATE, ITER8_LOAD_MAX_BURST), and the Prometheus
// collector when lookup has ITER8_PROMETHEUS_URL.
func (s Settings) Options(log *slog.Logger, lookup func(string) (string, bool)) ([]Option, error) {
	opts := []Option{WithSource(s.Source), WithLogger(log), WithNamespaces(s.Namespaces...), WithTickWorkers(s.TickWorkers),
		WithTickSenders(s.TickSenders), WithCollectConcurrency(s.CollectConcurrency), WithTickPeriod(s.TickPeriod)}
	if s.Sink != "" {
		emit, err := SinkEmitter(s.Sink, WithTokenFile(s.SinkTokenFile))
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithEmitter(emit), WithFanout(s.Fanout))
	}
	switch {
	case s.Sink != "" && s.Fanout:
		log.Info("tick fans out: one "+events.TypeExperimentCollect+" event per running experiment to K_SINK",
			slog.Int("senders", s.TickSenders), slog.Int("collectConcurrency", s.CollectConcurrency), slog.Duration("period", s.TickPeriod))
	case s.Sink != "":
		log.Warn("tick fan-out off (ITER8_TICK_FANOUT=false): each tick collects every experiment in the one replica it reaches",
			slog.Int("workers", s.TickWorkers))
	default:
		log.Warn("no K_SINK: each tick collects every experiment in the one replica it reaches, "+
			"which bounds how many experiments one tick can collect (docs/metrics.md, The tick, fanned out)", slog.Int("workers", s.TickWorkers))
	}
	lo, err := loadOptions(log, lookup)
	if err != nil {
		return nil, err
	}
	opts = append(opts, lo)
	c, enabled, err := collector.FromEnv(lookup)
	if err != nil {
		return nil, fmt.Errorf("metrics collector: %w", err)
	}
	if !enabled {
		log.Info("metrics collector off: set " + collector.EnvURL + " to collect from Prometheus")
		return opts, nil
	}
	url, _ := lookup(collector.EnvURL)
	log.Info("metrics collector on", slog.String("prometheus", collector.Redact(url)))
	return append(opts, WithCollector(c)), nil
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
