// Package events owns iter8's CloudEvent contract: the type names, the Go
// types of every event's data, their validation, the JSON Schemas under
// schema/, the deduplication key, and the error classes that decide whether
// Knative Eventing retries a delivery.
//
// Everything that enters or leaves iter8 is a CloudEvent described here, so
// that the functions, the kn plugin, the simulator, the metrics collector and
// users' own producers speak one language.
//
// This package is the bottom of the dependency graph: it must not import
// anything under pkg/, functions/ or cmd/, nor any Kubernetes client. It may
// import the CloudEvents SDK.
package events
