// Package stack runs iter8 end to end on one machine, the way a user meets
// it: the local control plane with the real Knative Serving controller
// (test/cluster), the real iter8-functions binary, a Service whose revisions
// are deployed as versions, a start event over HTTP, and a traffic
// simulator that reads the Service's status.traffic, draws each revision's
// requests from a scenario's true distributions and sends the observations
// as metrics windows. Its Prometheus path (prometheus*.go) instead serves
// the requests as queue-proxy and application metrics to a real Prometheus
// and sends PingSource ticks, so that the metrics collector folds the
// windows in. The demo and the e2e tests are built on it.
//
// It is test infrastructure: product code must not import it.
package stack
