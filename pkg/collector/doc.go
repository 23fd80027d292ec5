// Package collector turns what Prometheus knows about a Knative Service's
// revisions into iter8 metrics windows (events.MetricsObserved): the error
// ratio and the latency of each version from the queue-proxy's request
// histogram, and users' own PromQL templates.
//
// Built-in metrics are exact: counters are read at both ends of the window
// and differenced series by series (resets handled), so consecutive windows
// add up to the whole and a re-collected window yields the same counts.
// Missing data is reported, never silently folded in as zeros, and a
// Prometheus that cannot be reached is a transient error that Knative
// retries. Access (credentials and CA from files, a redacted URL) and the
// caps on what one query may bring back are in access.go.
//
// It is an adapter over the official Prometheus HTTP API client. It may
// import events only: it is told what it needs of an experiment (its spec,
// versions and where the next window starts, see Experiment), and knows
// nothing of how experiments are stored; it must not import pkg/store,
// functions or cmd.
package collector
