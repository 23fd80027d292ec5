// Package reliability tests iter8's functions against faults, hostile input
// and least privilege, on the real local control plane with the real Knative
// Serving controller (test/cluster) and the real iter8-functions binary
// (test/reliability/deliver): a function process SIGKILLed between its read
// and its write, duplicated and reordered deliveries, a Service or a
// revision deleted mid-experiment, the annotation budget, malformed and
// oversized payloads, slow clients, log hygiene and cross-namespace events.
// docs/reliability.md and docs/security.md list what is tried and what
// happens. The API server restart lives in ./restart, which needs a control
// plane of its own.
//
// It is test infrastructure: product code must not import it.
package reliability
