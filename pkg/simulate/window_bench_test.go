package simulate

import (
	"syscall"
	"testing"
	"time"
)

// The engine-window benchmarks measure the CPU of one simulated window
// (drawing the window's data and the real engine's Observe) at the sizes a
// plan runs: 20 requests a second in one-minute windows. docs/planning.md
// quotes their ns/window. Each iteration simulates the same few seeded runs
// on one worker, so that the figure is CPU per window, not wall time.

// windowTwoRatio is two versions with ratio metrics: a conversion reward
// better by 10% and an error-rate objective.
const windowTwoRatio = `
name: window-two-ratio
experiment:
  kind: ab
  baseline: v1
  candidates: [v2]
  metrics:
    - {name: errors, type: ratio}
    - {name: conversion, type: ratio}
  objectives:
    - {metric: errors, upperLimit: 0.01}
  reward: {metric: conversion, direction: maximize}
  confidence: 0.95
truth:
  v1: {conversion: {bernoulli: 0.10}, errors: {bernoulli: 0.002}}
  v2: {conversion: {bernoulli: 0.11}, errors: {bernoulli: 0.002}}
traffic:
  requestsPerInterval: 1200
  maxIntervals: 240
expect: [v2]
`

// windowThreeQuantile is README's abn spec as its plan simulates it: three
// versions, ratio metrics and a p95 latency (a quantile metric, whose
// assessment draws Dirichlet samples), the p95 at about 120 ms.
const windowThreeQuantile = `
name: window-three-quantile
experiment:
  kind: abn
  baseline: v1
  candidates: [v2, v3]
  metrics:
    - {name: errors, type: ratio}
    - {name: latency-p95, type: quantile, quantile: 0.95, unit: ms}
    - {name: conversion, type: ratio}
  objectives:
    - {metric: errors, upperLimit: 0.01}
    - {metric: latency-p95, upperLimit: 250}
  reward: {metric: conversion, direction: maximize}
  confidence: 0.95
truth:
  v1: {conversion: {bernoulli: 0.10}, errors: {bernoulli: 0.002}, latency-p95: {lognormal: {mu: 4.3, sigma: 0.3}}}
  v2: {conversion: {bernoulli: 0.11}, errors: {bernoulli: 0.002}, latency-p95: {lognormal: {mu: 4.3, sigma: 0.3}}}
  v3: {conversion: {bernoulli: 0.10}, errors: {bernoulli: 0.002}, latency-p95: {lognormal: {mu: 4.3, sigma: 0.3}}}
traffic:
  requestsPerInterval: 1200
  maxIntervals: 240
expect: [v2]
`

func BenchmarkWindowTwoRatio(b *testing.B)      { benchmarkWindow(b, windowTwoRatio) }
func BenchmarkWindowThreeQuantile(b *testing.B) { benchmarkWindow(b, windowThreeQuantile) }

// benchmarkWindow reports ns/window, the time of 4 seeded runs over the
// windows they simulated, and cpu-ns/window, the process's CPU time (user
// and system, so the garbage collector's too) over them: on a shared,
// loaded machine the wall time measures the load, the CPU time the code.
func benchmarkWindow(b *testing.B, yaml string) {
	s, err := ParseScenario([]byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	windows, n := 0, 0
	cpu0 := cpuTime()
	for b.Loop() {
		results, err := RunAll(s, Options{Runs: 4, Seed: 1, Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range results {
			windows += r.Intervals
		}
		n++
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(windows), "ns/window")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(windows), "cpu-ns/window")
	b.ReportMetric(float64(windows)/float64(n), "windows/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
