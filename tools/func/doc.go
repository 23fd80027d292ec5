// Package funccheck checks the repository's layout with Knative Functions'
// own code (knative.dev/func), in a module of its own so that iter8's
// module does not take that dependency. See scaffold_test.go.
package funccheck
