// Package functions holds iter8's stateless Knative functions: one handler
// per inbound CloudEvent type, each a plain func(ctx, event) (*event, error)
// in the style of Knative Functions' Go CloudEvents template, and the HTTP
// server that routes to them over the CloudEvents SDK's binding.
//
// A handler decodes and validates its event (events), reads the Service's
// experiment and writes it back exactly once per event (pkg/store), and lets
// the pure engine decide (pkg/experiment). It keeps no state of its own
// between events. It also owns the tick's enumeration (tick.go), the one
// request deadline every handler runs under (server.go, TimeoutsFor), and
// the settings both entry points build from (settings.go, embed.go). It
// may import events and pkg/...; nothing of iter8's imports it but cmd and
// the root package, Knative Functions' entry point (function.go).
package functions
