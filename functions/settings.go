package functions

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

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
	// TickWorkers is how many experiments a tick collects at once.
	TickWorkers int
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
	return s
}

// Options returns the handler options for s: the source, the tick's
// namespaces and workers, the K_SINK emitter (with an OIDC token when the
// sink has an audience), the load generator with its ceiling
// (ITER8_LOAD_MAX_RATE, ITER8_LOAD_MAX_BURST), and the Prometheus
// collector when lookup has ITER8_PROMETHEUS_URL.
func (s Settings) Options(log *slog.Logger, lookup func(string) (string, bool)) ([]Option, error) {
	opts := []Option{WithSource(s.Source), WithLogger(log), WithNamespaces(s.Namespaces...), WithTickWorkers(s.TickWorkers)}
	if s.Sink != "" {
		emit, err := SinkEmitter(s.Sink, WithTokenFile(s.SinkTokenFile))
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithEmitter(emit))
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
