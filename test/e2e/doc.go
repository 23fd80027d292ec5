// Package e2e holds iter8's end-to-end tests: every experiment kind on the
// full local stack (real kube-apiserver, real Knative Serving controller,
// the real iter8-functions binary, the kn CLI and the kn-iter8 plugin),
// driven by the traffic simulator of test/stack. Run them with `make e2e`.
package e2e
