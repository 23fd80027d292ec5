// Package deliver drives the real iter8-functions binary the way Knative
// Eventing does: it starts, SIGKILLs and restarts the process on a fixed
// loopback address, and delivers CloudEvents in binary mode at least once,
// redelivering on every status Knative retries (and on a lost connection)
// until the function answers 2xx or refuses the event for good. The
// reliability tests, the soak and scale benchmarks and test/stack's
// replicas are built on it: StartFunctions is the tests' one starter of
// iter8-functions.
//
// It is test infrastructure: product code must not import it. It may import
// events, pkg/store and test/cluster.
package deliver
