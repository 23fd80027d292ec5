// Package store keeps an experiment on its Knative Service: the spec, the
// engine's state, a one-line status, the latest assessment and a bounded
// log of the events the functions emitted in the Service's annotations, and
// the split in its spec.traffic; and, across experiments, the candidates of
// the Service's last finished canaries, the prior of the next canary's ETA
// (past.go). It owns the read-modify-write cycle that makes stateless,
// concurrent, at-least-once event handlers safe: optimistic concurrency
// on resourceVersion with retries on conflict, group commit of the writes
// one process has queued for a Service (one Update for all of them),
// deduplication of events by their CloudEvents source and id in a bounded
// window kept inside the state, a size budget for the annotations
// (BudgetError when even compaction cannot meet it), and validation of
// every traffic block before it is written.
//
// It is a thin adapter over the Knative Serving clientset. It may import
// events and pkg/experiment; it must not import functions or cmd.
package store
