package events

import (
	"math"
)

// Verdicts of an assessment.
const (
	VerdictSatisfied = "satisfied"
	VerdictViolated  = "violated"
	VerdictUndecided = "undecided"
)

// Outbound data is produced by iter8 itself; validating it before sending
// keeps the contract honest for consumers, who are promised the same rules
// as the JSON Schemas state.

func checkService(path, s string, errs *FieldErrors) {
	if err := CheckLabel(s); err != nil {
		errs.Add(path, "%v", err)
	}
}

func checkRequired(path, s string, errs *FieldErrors) {
	if s == "" {
		errs.Add(path, "required")
	}
}

// checkTraffic checks a split in percent per version: at least one version,
// each in [0, 100], summing to 100 as Knative requires of spec.traffic.
func checkTraffic(path string, t map[string]int, errs *FieldErrors) {
	if !checkLen(path, t == nil, len(t), "version", 1, MaxVersions, errs) {
		return
	}
	sum := 0
	for _, v := range sortedKeys(t) {
		p := Key(path, v)
		if err := CheckLabel(v); err != nil {
			errs.Add(p, "version name: %v", err)
		}
		if t[v] < 0 || t[v] > 100 {
			errs.Add(p, "must be a percent in [0, 100], got %d", t[v])
			return
		}
		sum += t[v]
	}
	if sum != 100 {
		errs.Add(path, "percents must sum to 100, got %d", sum)
	}
}

func checkIteration(path string, i int, errs *FieldErrors) {
	if i < 0 {
		errs.Add(path, "must be >= 0, got %d", i)
	}
}

// Validate checks the service name, the spec the experiment runs with and
// the initial split.
func (s Started) Validate() error {
	var errs FieldErrors
	checkService(Field(dataPath, "service"), s.Service, &errs)
	if err := s.Spec.Validate(); err != nil {
		// The spec's paths begin "spec", which here is data.spec.
		for _, fe := range FieldErrorsOf(err) {
			errs.Add(Field(dataPath, fe.Path), "%s", fe.Message)
		}
		if FieldErrorsOf(err) == nil {
			errs.Add(Field(dataPath, "spec"), "%v", err)
		}
	}
	checkTraffic(Field(dataPath, "traffic"), s.Traffic, &errs)
	return errs.Err()
}

// Validate checks both splits.
func (t TrafficChanged) Validate() error {
	var errs FieldErrors
	checkService(Field(dataPath, "service"), t.Service, &errs)
	checkIteration(Field(dataPath, "iteration"), t.Iteration, &errs)
	checkTraffic(Field(dataPath, "from"), t.From, &errs)
	checkTraffic(Field(dataPath, "to"), t.To, &errs)
	return errs.Err()
}

// Validate checks the outcome, the winner's name and the final split.
func (c Completed) Validate() error {
	var errs FieldErrors
	checkService(Field(dataPath, "service"), c.Service, &errs)
	switch c.Outcome {
	case OutcomePromoted, OutcomeRolledBack, OutcomeInconclusive, OutcomePassed, OutcomeFailedSLO, OutcomeAborted:
	case "":
		errs.Add(Field(dataPath, "outcome"), "required")
	default:
		errs.Add(Field(dataPath, "outcome"), "unknown outcome %q", c.Outcome)
	}
	wp := Field(dataPath, "winner")
	if c.Outcome == OutcomePromoted && c.Winner == "" {
		errs.Add(wp, "required when the outcome is promoted")
	}
	if c.Winner != "" {
		if err := CheckLabel(c.Winner); err != nil {
			errs.Add(wp, "%v", err)
		}
	}
	checkRequired(Field(dataPath, "reason"), c.Reason, &errs)
	checkIteration(Field(dataPath, "iteration"), c.Iteration, &errs)
	checkTraffic(Field(dataPath, "traffic"), c.Traffic, &errs)
	return errs.Err()
}

// Validate checks the service and that a reason is given.
func (f Failed) Validate() error {
	var errs FieldErrors
	checkService(Field(dataPath, "service"), f.Service, &errs)
	checkRequired(Field(dataPath, "reason"), f.Reason, &errs)
	return errs.Err()
}

func checkProb(path string, p *float64, errs *FieldErrors) {
	if p != nil && !(*p >= 0 && *p <= 1) {
		errs.Add(path, "must be a probability in [0, 1], got %v", *p)
	}
}

func checkVerdict(path, v string, required bool, errs *FieldErrors) {
	switch v {
	case VerdictSatisfied, VerdictViolated, VerdictUndecided:
	case "":
		if required {
			errs.Add(path, "required")
		}
	default:
		errs.Add(path, "unknown verdict %q: want satisfied, violated or undecided", v)
	}
}

// Validate checks names, probabilities in [0, 1], finite estimates with
// lower <= upper, verdicts and the split.
func (a Assessed) Validate() error {
	var errs FieldErrors
	checkService(Field(dataPath, "service"), a.Service, &errs)
	checkIteration(Field(dataPath, "iteration"), a.Iteration, &errs)
	checkRequired(Field(dataPath, "phase"), a.Phase, &errs)
	checkRequired(Field(dataPath, "decision"), a.Decision, &errs)
	if a.Leader != "" {
		if err := CheckLabel(a.Leader); err != nil {
			errs.Add(Field(dataPath, "leader"), "%v", err)
		}
	}
	vp := Field(dataPath, "versions")
	checkLen(vp, a.Versions == nil, len(a.Versions), "version", 0, MaxVersions, &errs)
	for i, v := range a.Versions {
		v.validate(Index(vp, i), &errs)
	}
	checkTraffic(Field(dataPath, "traffic"), a.Traffic, &errs)
	return errs.Err()
}

func (v VersionAssessment) validate(path string, errs *FieldErrors) {
	if err := CheckLabel(v.Version); err != nil {
		errs.Add(Field(path, "version"), "%v", err)
	}
	if v.Samples < 0 {
		errs.Add(Field(path, "samples"), "must be >= 0, got %d", v.Samples)
	}
	checkProb(Field(path, "probBeatsBaseline"), v.ProbBeatsBaseline, errs)
	checkProb(Field(path, "probWin"), v.ProbWin, errs)
	checkProb(Field(path, "probFeasible"), &v.ProbFeasible, errs)
	if l := v.ExpectedLoss; l != nil && !(*l >= 0 && !math.IsInf(*l, 1)) {
		errs.Add(Field(path, "expectedLoss"), "must be a finite number >= 0, got %v", *l)
	}
	mp := Field(path, "metrics")
	checkLen(mp, v.Metrics == nil, len(v.Metrics), "metric", 0, MaxMetrics, errs)
	for i, m := range v.Metrics {
		m.validate(Index(mp, i), errs)
	}
	checkVerdict(Field(path, "verdict"), v.Verdict, true, errs)
}

func (m MetricAssessment) validate(path string, errs *FieldErrors) {
	if err := CheckLabel(m.Metric); err != nil {
		errs.Add(Field(path, "metric"), "%v", err)
	}
	okL := m.Lower == nil || checkFinite(Field(path, "lower"), m.Lower, errs)
	okU := m.Upper == nil || checkFinite(Field(path, "upper"), m.Upper, errs)
	if m.Mean != nil {
		checkFinite(Field(path, "mean"), m.Mean, errs)
	}
	if okL && okU && m.Lower != nil && m.Upper != nil && *m.Lower > *m.Upper {
		errs.Add(Field(path, "upper"), "must be >= lower (%v), got %v", *m.Lower, *m.Upper)
	}
	checkProb(Field(path, "probObjective"), m.ProbObjective, errs)
	checkVerdict(Field(path, "verdict"), m.Verdict, false, errs)
}
