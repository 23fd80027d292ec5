// Package cluster runs a real, local Kubernetes control plane for iter8's
// integration and end-to-end tests and for the demo: etcd and kube-apiserver
// built from source into the repository's bin/ (see tools/), started with
// controller-runtime's envtest, with Knative Serving's, Networking's,
// Caching's and Eventing's CRDs installed from the module cache.
//
// Optionally it also runs the real Knative Serving controller and a small
// data-plane stand-in that marks each Revision's Deployment and
// PodAutoscaler, and each Route's KIngress, Ready. With both, a Knative
// Service goes Ready and its status.traffic follows spec.traffic, as on a
// real cluster, without kubelet, autoscaler or ingress.
//
// Tests use it through Main in TestMain, which runs the tests in a child
// process so that the control plane is stopped even when a test panics.
//
// It is test infrastructure: product code (cmd, functions, pkg, events) must
// not import it.
package cluster
