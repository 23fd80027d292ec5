// Package simulate owns iter8's simulator and decision-quality benchmark:
// it reads scenario files (test/scenarios/README.md is the contract),
// draws synthetic traffic from each version's true metric distributions,
// feeds it window by window to a decision policy — the real engine in
// pkg/experiment, or one of the published baselines it is compared with —
// and reports how often, how fast and at what cost each policy decided.
//
// The simulator is deterministic: time and seeds are inputs, run i draws
// from a stream derived from (seed, i), and runs executed in parallel are
// gathered in order, so the same scenario, seed and policy always print the
// same report. It never reads the clock, and its only I/O is reading
// scenario files (files.go) and writing reports to the writer it is given.
//
// It is a library: flags, and where scenario files live in the repository,
// belong to its command line (cmd/internal/simulatecli).
//
// It may import events, pkg/experiment and pkg/stats; it must not import
// functions/, cmd/, cobra or any Kubernetes or CloudEvents client.
package simulate
