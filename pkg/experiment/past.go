package experiment

import (
	"fmt"
	"math"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// PastCap is the most past canaries a Service remembers (Remember): the
// newest, so that the prior of the next canary's ETA follows how the
// Service's candidates have fared lately, and a few hundred bytes of
// annotation at most.
const PastCap = 8

// maxPastCount bounds a remembered count: more requests than a canary
// could serve in years at any rate, so that a hand-edited count cannot
// overflow the ETA's arithmetic.
const maxPastCount = 1e12

// Past is what a finished canary leaves on its Service for the next
// one: its candidate's counts of every ratio metric. A later canary's ETA
// takes its candidate to be, a priori, like one of the Service's past
// candidates or new (pkg/plan, canaryprior.go): a bad candidate's first
// errors are then read against the error rates the Service's bad
// candidates have had, not against any rate at all.
type Past struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome,omitempty"`
	// Ended is when the canary finished.
	Ended events.Time `json:"ended"`
	// Ratios are the candidate's counts, by metric name.
	Ratios map[string]Count `json:"ratios"`
}

// Count is a ratio metric's successes (errors, for an error rate) in
// trials (requests).
type Count struct {
	Successes float64 `json:"s"`
	Trials    float64 `json:"t"`
}

// PastOf is what the finished canary st of spec leaves for the next one,
// or false when there is nothing to leave: not a canary, not finished, or
// a candidate that served no request of any ratio metric.
func PastOf(spec events.ExperimentSpec, st State) (Past, bool) {
	if spec.Kind != events.KindCanary || !st.Phase.Terminal() || len(st.Versions) < 2 || len(st.Data) < 2 {
		return Past{}, false
	}
	p := Past{ID: st.ID, Outcome: st.Outcome, Ended: st.Since, Ratios: map[string]Count{}}
	for j, m := range spec.Metrics {
		if KindOf(m.Type) != stats.Ratio || j >= len(st.Data[1]) {
			continue
		}
		if d := st.Data[1][j]; d.Trials > 0 {
			p.Ratios[m.Name] = Count{Successes: d.Successes, Trials: d.Trials}
		}
	}
	return p, len(p.Ratios) > 0
}

// Remember is past with p added as the newest, the oldest dropped beyond
// PastCap. past is not modified.
func Remember(past []Past, p Past) []Past {
	out := append(append([]Past(nil), past...), p)
	return out[max(0, len(out)-PastCap):]
}

// ValidatePast reports the first field of past that no canary could have
// written, naming it: more than PastCap entries, or a count that is not a
// finite number of successes within its trials.
func ValidatePast(past []Past) error {
	if len(past) > PastCap {
		return fmt.Errorf("%d past canaries, at most %d", len(past), PastCap)
	}
	for i, p := range past {
		for name, c := range p.Ratios {
			ok := c.Trials > 0 && c.Trials <= maxPastCount && c.Successes >= 0 && c.Successes <= c.Trials &&
				!math.IsNaN(c.Successes) && !math.IsNaN(c.Trials)
			if !ok {
				return fmt.Errorf("[%d].ratios.%s: %g successes in %g trials", i, name, c.Successes, c.Trials)
			}
		}
	}
	return nil
}
