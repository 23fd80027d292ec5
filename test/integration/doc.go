// Package integration holds iter8's integration tests: they run against a
// real kube-apiserver and, where they say so, the real Knative Serving
// controller (see test/cluster). They never run against fake clientsets.
package integration
