package experiment

import (
	"fmt"
	"math"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// LoadStatus sums what the built-in load generator did for an experiment
// with a load block: the rate it was asked for against the rate it
// achieved, so that describe and the report can say when it could not
// keep up rather than let a test pass quietly at a lower load. The
// functions add one burst in the same write as the burst's window.
type LoadStatus struct {
	// Bursts counts the bursts folded in; Behind those whose achieved rate
	// fell below 95% of the requested one.
	Bursts int `json:"bursts"`
	Behind int `json:"behind,omitempty"`
	// Asked is the spec's rate, Requested the rate after the functions'
	// ceiling (both of the latest burst), in requests per second.
	Asked     float64 `json:"asked"`
	Requested float64 `json:"requested"`
	// Sent and Errors count the counted requests of every burst; Seconds
	// sums the bursts' spans.
	Sent    int64   `json:"sent"`
	Errors  int64   `json:"errors,omitempty"`
	Seconds float64 `json:"seconds"`
	// Capped is the latest note on how the ceiling or the deadline cut a
	// burst, empty when none did.
	Capped string `json:"capped,omitempty"`
	// Tick is the latest tick time a burst was folded in for: a
	// redelivered or doubled tick (the same tick time) sends no second
	// burst, since its window would count once anyway.
	Tick events.Time `json:"tick,omitzero"`
}

// LoadBurst is one burst's share of a LoadStatus.
type LoadBurst struct {
	Asked, Requested float64
	Sent, Errors     int64
	Seconds          float64
	KeptUp           bool
	Capped           string
	// Tick is the tick time the burst was sent for; zero when unknown.
	Tick time.Time
}

// Add returns s with burst b added; s may be nil.
func (s *LoadStatus) Add(b LoadBurst) *LoadStatus {
	var out LoadStatus
	if s != nil {
		out = *s
	}
	out.Bursts++
	if !b.KeptUp {
		out.Behind++
	}
	out.Asked, out.Requested, out.Capped = b.Asked, b.Requested, b.Capped
	out.Sent += b.Sent
	out.Errors += b.Errors
	out.Seconds += b.Seconds
	if b.Tick.After(out.Tick.Time) {
		out.Tick = events.Time{Time: b.Tick}
	}
	return &out
}

// Achieved is the rate achieved over every burst, in requests per second.
func (s *LoadStatus) Achieved() float64 {
	if s == nil || s.Seconds <= 0 {
		return 0
	}
	return float64(s.Sent) / s.Seconds
}

// Served reports whether a burst was already folded in for the tick at:
// that tick's redelivery, or a double tick, needs no second burst.
func (s *LoadStatus) Served(at time.Time) bool {
	return s != nil && !at.IsZero() && !s.Tick.Before(at)
}

// KeptUp reports whether every burst reached 95% of its requested rate.
func (s *LoadStatus) KeptUp() bool { return s != nil && s.Behind == 0 }

// Line is the one-line account of the load for people, such as
// "load: 49.8 of 50 requests/s requested (12 bursts, 5976 requests)",
// with a warning when the generator fell behind or was capped.
func (s *LoadStatus) Line() string {
	if s == nil || s.Bursts == 0 {
		return "load: no burst yet"
	}
	out := fmt.Sprintf("load: %s of %s requests/s requested (%d bursts, %d requests)", rate(s.Achieved()), rate(s.Requested), s.Bursts, s.Sent)
	if s.Requested < s.Asked {
		out += "; the spec asked " + rate(s.Asked) + ", above the functions' ceiling"
	}
	if s.Behind > 0 {
		out += fmt.Sprintf("; WARNING: the generator could not keep up in %d of %d bursts: the verdict is for the load achieved, not the load requested", s.Behind, s.Bursts)
	}
	if s.Capped != "" {
		out += "; " + s.Capped
	}
	return out
}

// rate writes a rate with one decimal, whole rates without.
func rate(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
