// Package experiment owns iter8's experiment engine: the pure, deterministic
// core that turns (spec, state, event) into (new state, traffic split,
// events to emit). It runs the lifecycle (Running, Paused, Completed,
// Failed), folds windows of metrics into sufficient statistics, asks
// pkg/stats for an assessment, decides per experiment kind (canary, ab,
// abn, performance), and computes integer traffic splits within the
// spec's caps and increments.
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
