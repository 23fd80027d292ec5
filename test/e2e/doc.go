// Package e2e holds iter8's end-to-end tests: every experiment kind on the
// full local stack (real kube-apiserver, real Knative Serving controller,
// the real iter8-functions binary, the kn CLI and the kn-iter8 plugin),
// driven by the traffic simulator of test/stack, or, for performance tests
// with a load block, by the functions' own load against a real HTTP server
// standing in for the revision (load_test.go). Run them with `make e2e`.
package e2e
