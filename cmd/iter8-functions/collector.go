package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/pkg/collector"
)

// collectorOptions wires the Prometheus metrics collector when
// ITER8_PROMETHEUS_URL is set (see docs/metrics.md); without it the
// PingSource tick only enforces maxDuration.
func collectorOptions(log *slog.Logger) ([]functions.Option, error) {
	c, enabled, err := collector.FromEnv(os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("metrics collector: %w", err)
	}
	if !enabled {
		log.Info("metrics collector off: set " + collector.EnvURL + " to collect from Prometheus")
		return nil, nil
	}
	log.Info("metrics collector on", slog.String("prometheus", os.Getenv(collector.EnvURL)))
	return []functions.Option{functions.WithCollector(c)}, nil
}
