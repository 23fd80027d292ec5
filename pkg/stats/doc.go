// Package stats owns iter8's statistics: the Bayesian models of each metric
// type, the assessments users read (credible intervals, probabilities of
// beating the baseline, of winning and of meeting objectives, expected loss)
// and the anytime-valid decision rules that act on traffic.
//
// It is pure: no I/O, no clock, no global random source. Monte Carlo is
// seeded by the caller. It must not import anything of iter8's outside this
// package, nor any Kubernetes or CloudEvents package; gonum is its only
// numerical dependency.
package stats
