// Package functions holds iter8's stateless Knative functions: one handler
// per inbound CloudEvent type, each a plain func(ctx, event) (*event, error)
// in the style of Knative Functions' Go CloudEvents template, and the HTTP
// server that routes to them over the CloudEvents SDK's binding.
//
// Every handler, and the tick for each running experiment, takes one path
// (step, in step.go): read the Service's experiment (pkg/store), ask the
// pure engine (pkg/experiment) for the next state and the split that goes
// with it, and write both in one update that also records the event's
// dedupe key; or map the error once. Handler files say only what is
// specific to their event type: handlers.go (start, metrics, control),
// collect.go (one experiment's tick and the collector adapter), tick.go
// (the tick's enumeration of the configured namespaces), fanout.go (the
// tick's fan-out: one dev.iter8.experiment.collect event per running
// experiment, which any replica collects, bounded in number and time; or,
// without a sink, collection in process), vanished.go
// (a revision deleted under an experiment). step also ends an experiment
// that has outgrown its annotation budget. The server attaches the event's
// id, type, source and subject to a logger carried in the context (log.go).
//
// Every event runs under one deadline derived from the platform's request
// timeout (server.go, TimeoutsFor); settings.go and embed.go build what
// both entry points serve. It keeps no state of its own between events. It
// may import events and pkg/...; nothing of iter8's imports it but cmd and
// the root package, Knative Functions' entry point (function.go).
package functions
