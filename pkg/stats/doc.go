// Package stats owns iter8's statistics: the Bayesian models of each metric
// type, the assessments users read (credible intervals, probabilities of
// beating the baseline, of winning and of meeting objectives, expected loss)
// and the anytime-valid decision rules that act on traffic.
//
// The two halves have different jobs. The Bayesian numbers (posterior.go,
// assess.go) are for reading and for allocating traffic (TopTwo); they are
// not error-controlled under repeated looks. The decisions (decide.go,
// onesided.go and bounded.go for absolute limits, confseq.go, evidence.go
// with tilt.go, and bestarm.go) are one-sided tests, confidence sequences and
// e-processes whose error is at most 1 - Confidence however often Assess is
// called, so only they may promote, roll back or exclude a version.
// docs/statistics.md states every model, rule, guarantee and citation.
//
// It is pure: no I/O, no clock, no global random source. Monte Carlo is
// seeded by the caller. It must not import anything of iter8's outside this
// package, nor any Kubernetes or CloudEvents package; gonum is its only
// numerical dependency.
package stats
