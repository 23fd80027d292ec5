// Package plan owns experiment planning: before an experiment starts, how
// many requests and how much time it will likely take to decide, how
// likely it is to decide before maxDuration, what each outcome's chance is
// and how much traffic a candidate as bad as the SLO margin would see; and,
// while it runs, the expected remaining time to a decision (the ETA).
//
// It has no rules of its own: it turns assumptions (a request rate,
// baseline metric values and spreads, the smallest effect worth detecting,
// the SLO margin) into simulator scenarios and runs the real engine on them
// through pkg/simulate, seeded and deterministic. The ETA continues the
// experiment's own engine state (simulate.Options.From) on distributions
// drawn from the posterior its data imply (a canary candidate's rates
// under the prior that it has its baseline's, canaryprior.go; a
// histogram's lognormal fitted to its bucket counts, histfit.go).
//
// PassageAccuracy is the first-passage model of an ETA (Brownian evidence
// deciding at a level, its decision time inverse Gaussian): what the ideal
// ETA achieves, in closed form, at moments picked by a run's own end and
// at moments fixed in advance (docs/planning.md, "Which point is shown").
//
// It is pure: no I/O, no clock, no global RNG. Where the assumptions come
// from (Prometheus, flags) belongs to its callers; how a plan is shown
// belongs to pkg/present. It may import events, pkg/stats, pkg/experiment
// and pkg/simulate.
package plan
