package store

import (
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
)

// classify turns an API error into an error class Knative understands: a
// Service that is gone is permanent (422); anything that may pass (the API
// server down, throttling, timeouts, refused connections, RBAC being fixed)
// is transient (503) and retried.
func classify(ns, name string, err error) error {
	wrapped := fmt.Errorf("service %s/%s: %w", ns, name, err)
	switch {
	case apierrors.IsNotFound(err):
		return events.Permanent(http.StatusUnprocessableEntity, wrapped)
	case apierrors.IsTooManyRequests(err):
		return events.Transient(http.StatusTooManyRequests, wrapped)
	default:
		return events.Transient(http.StatusServiceUnavailable, wrapped)
	}
}

func phaseLabel(p experiment.Phase) string { return strings.ToLower(string(p)) }

// thinHistory keeps every other point (and always the last), doubling the
// spacing, as the engine does when its history overflows.
func thinHistory(h experiment.History) experiment.History {
	if len(h.Points) < 4 {
		return h
	}
	out := experiment.History{Every: h.Every * 2}
	for i, p := range h.Points {
		if i%2 == 0 || i == len(h.Points)-1 {
			out.Points = append(out.Points, p)
		}
	}
	return out
}

// BudgetError reports an experiment whose annotations would not fit the
// budget even compacted. The functions end such an experiment, since every
// later window would be refused the same way.
type BudgetError struct {
	Need, Budget int
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("experiment state needs %d bytes, over the %d-byte annotation budget even compacted: use fewer versions, metrics or histogram buckets", e.Need, e.Budget)
}
