package events

import (
	"slices"
	"unicode/utf8"
)

// dataPath is the root of every path in a data validation error: it is
// the "data" member of the CloudEvent.
const dataPath = "data"

// Validate checks a metrics window, inferring each observation's metric type
// from its fields.
func (m MetricsObserved) Validate() error { return m.ValidateTypes(nil) }

// ValidateTypes checks a metrics window against declared metric types
// (metric name to ratio, mean or quantile); metrics not in types have their
// type inferred from their fields. An experiment's function passes its
// spec's types so that an observation of the wrong shape is refused.
func (m MetricsObserved) ValidateTypes(types map[string]string) error {
	var errs FieldErrors
	m.Window.validate(Field(dataPath, "window"), &errs)
	vp := Field(dataPath, "versions")
	checkLen(vp, m.Versions == nil, len(m.Versions), "version", 1, MaxVersions, &errs)
	for _, v := range sortedKeys(m.Versions) {
		p := Key(vp, v)
		if err := CheckLabel(v); err != nil {
			errs.Add(p, "version name: %v", err)
		}
		metrics := m.Versions[v]
		checkLen(p, false, len(metrics), "metric", 1, MaxMetrics, &errs)
		for _, name := range sortedKeys(metrics) {
			mp := Key(p, name)
			if err := CheckLabel(name); err != nil {
				errs.Add(mp, "metric name: %v", err)
			}
			metrics[name].validate(mp, types[name], &errs)
		}
	}
	return errs.Err()
}

// NewControl returns a checked control action.
func NewControl(action, version, reason string) (Control, error) {
	c := Control{Action: action, Version: version, Reason: reason}
	return c, c.Validate()
}

// Validate checks the action, that promote names a version and that only
// promote does, and the reason's length.
func (c Control) Validate() error {
	var errs FieldErrors
	ap, vp := Field(dataPath, "action"), Field(dataPath, "version")
	switch c.Action {
	case ActionPause, ActionResume, ActionAbort:
		if c.Version != "" {
			errs.Add(vp, "only promote takes a version")
		}
	case ActionPromote:
		if c.Version == "" {
			errs.Add(vp, "required for promote")
		} else if err := CheckLabel(c.Version); err != nil {
			errs.Add(vp, "%v", err)
		}
	case "":
		errs.Add(ap, "required")
	default:
		errs.Add(ap, "unknown action %s: want pause, resume, abort or promote", Quote(c.Action, MaxEcho))
	}
	if n := utf8.RuneCountInString(c.Reason); n > MaxTextLength {
		errs.Add(Field(dataPath, "reason"), "must be at most %d characters, got %d", MaxTextLength, n)
	}
	return errs.Err()
}

// Validate checks that the experiment id is a DNS-1123 label (iter8's ids
// are hex) and that the tick is set.
func (c Collect) Validate() error {
	var errs FieldErrors
	if err := CheckLabel(c.Experiment); err != nil {
		errs.Add(Field(dataPath, "experiment"), "%v", err)
	}
	if c.Tick.IsZero() {
		errs.Add(Field(dataPath, "tick"), "required")
	}
	return errs.Err()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
