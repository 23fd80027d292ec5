// Package commands is the command tree of the kn plugin kn-iter8 (see
// cmd/kn-iter8): it reads experiments from their Knative Services through
// pkg/store, sends start and control CloudEvents to the iter8 broker or a
// --sink, and leaves presentation to pkg/present and pkg/report, which are
// pure. It is a package of its own, rather than part of main, so that the
// integration tests can run the real commands in process.
//
// It may import events and pkg/...; only cmd/kn-iter8 and tests import it.
package commands
