package collector

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/iter8-knative/iter8/events"
)

// Gap is one metric of one version that had no data in a window.
type Gap struct {
	Version string
	Metric  string
	// Fail is set when the metric's onMissing is "fail": the experiment
	// should fail rather than wait.
	Fail bool
	// Reason says what was missing, for people.
	Reason string
}

// Missing lists the gaps of one window, in the spec's version and metric
// order.
type Missing []Gap

// Failures returns the gaps of metrics whose onMissing is "fail".
func (m Missing) Failures() Missing {
	var out Missing
	for _, g := range m {
		if g.Fail {
			out = append(out, g)
		}
	}
	return out
}

// Err returns a *MissingError for the gaps that fail the experiment, or nil.
func (m Missing) Err() error {
	if f := m.Failures(); len(f) > 0 {
		return &MissingError{Gaps: f}
	}
	return nil
}

// MissingError reports metrics with onMissing "fail" that had no data. It
// is permanent (HTTP 422): retrying the window cannot produce the data, and
// the caller is expected to fail the experiment with Error() as the reason.
type MissingError struct {
	Gaps Missing
}

func (e *MissingError) Error() string {
	parts := make([]string, len(e.Gaps))
	for i, g := range e.Gaps {
		parts[i] = fmt.Sprintf("%s of %s: %s", g.Metric, g.Version, g.Reason)
	}
	return "no data for metrics with onMissing fail: " + strings.Join(parts, "; ")
}

// Unwrap makes a MissingError permanent for events.IsPermanent and
// events.StatusOf.
func (e *MissingError) Unwrap() error {
	return events.Permanent(http.StatusUnprocessableEntity, errors.New("missing metrics"))
}

// classify gives a failed query its retry class. Prometheus refusing the
// query itself (bad_data: a template that renders invalid PromQL, a wrong
// metric name configuration) is permanent; anything else, an unreachable
// or overloaded Prometheus, a timeout, is transient and retried.
func classify(what, query string, err error) error {
	wrapped := fmt.Errorf("prometheus query for %s (%s): %w", what, query, err)
	var le *LimitError
	if errors.As(err, &le) {
		return wrapped // permanent through LimitError.Unwrap
	}
	var pe *v1.Error
	if errors.As(err, &pe) && pe.Type == v1.ErrBadData {
		return events.Permanent(http.StatusUnprocessableEntity, wrapped)
	}
	return events.Transient(http.StatusServiceUnavailable, wrapped)
}
