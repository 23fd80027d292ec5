// Package prometheus holds the metrics collector's integration tests
// against a real Prometheus, and their helpers: Start runs the prometheus
// binary (Debian's package, or ITER8_PROMETHEUS_BIN) on a loopback port
// with a private TSDB, and NewPod serves fake queue-proxy metrics for it to
// scrape, in the names and labels Knative Serving exports. A missing binary
// fails the tests; they are part of make test, not skipped.
//
// It may import pkg/collector and what it depends on; nothing may import it.
package prometheus
