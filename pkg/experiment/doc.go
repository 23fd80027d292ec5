// Package experiment owns iter8's experiment engine: the pure, deterministic
// core that turns (spec, state, event) into (new state, traffic split,
// events to emit). It runs the lifecycle (Running, Paused, Completed,
// Failed), folds windows of metrics into sufficient statistics, asks
// pkg/stats for an assessment, decides per experiment kind (canary, ab,
// abn, performance), and computes integer traffic splits within the
// spec's caps and increments.
//
// Its API is the methods of a configured Engine (New with functional
// options; the zero value is ready): Start, Observe, Control, Tick and
// Fail. Like Knative's traffic.Rollout.Step, each takes the state and
// returns the next state together with the split to write (Result.Traffic,
// which always agrees with State.Traffic), so that callers do no traffic
// arithmetic: failure and rollback, whether from the statistics, an abort,
// missing data, a vanished revision or an exhausted budget, are engine
// operations, and a performance experiment's traffic is never touched.
//
// The iter8 functions call it on every event, and the simulator and the kn
// plugin reuse it, so that all three behave identically. It is pure: no
// I/O, no clock (time is an argument), no global random source (the Monte
// Carlo seed is derived from the experiment id and iteration). The same
// inputs always give the same outputs, including after a JSON round trip
// of State.
//
// It may import events and pkg/stats only; it must not import functions/,
// cmd/, any Kubernetes or CloudEvents client, or anything doing I/O.
package experiment
