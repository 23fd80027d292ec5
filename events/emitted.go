package events

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Emitted is one event the functions emitted (a reply or a K_SINK send),
// as the Service's iter8.dev/events annotation records it: enough for `kn
// iter8 watch` to show it and for anyone to find it on the Broker by ID,
// not its data.
type Emitted struct {
	// Seq numbers the events emitted for one experiment from 1, so that a
	// reader sees which ones the bounded log no longer holds.
	Seq     int       `json:"n"`
	Type    string    `json:"type"`
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Summary string    `json:"summary,omitempty"`
}

// MaxSummary is the most bytes of an Emitted's Summary: a line, not the
// data, so that the log has a fixed size whatever the names in it.
const MaxSummary = 120

// Summarize is one short line of an outbound event's data, at most
// MaxSummary bytes: what `kn iter8 watch` prints beside the event's type.
func Summarize(data any) string {
	var s string
	switch d := data.(type) {
	case Started:
		s = fmt.Sprintf("%s: baseline %s, candidates %s; traffic %s", d.Spec.Kind, d.Spec.Baseline, strings.Join(d.Spec.Candidates, " "), splitText(d.Traffic))
	case Assessed:
		s = fmt.Sprintf("iteration %d", d.Iteration)
		if d.Leader != "" {
			s += ", leader " + d.Leader
		}
		if d.Decision != "" {
			s += ": " + d.Decision
		}
	case TrafficChanged:
		s = fmt.Sprintf("iteration %d: %s", d.Iteration, splitText(d.To))
		if d.Reason != "" {
			s += " (" + d.Reason + ")"
		}
	case Completed:
		s = d.Outcome
		if d.Winner != "" {
			s += " " + d.Winner
		}
		s += fmt.Sprintf(" at iteration %d: %s", d.Iteration, d.Reason)
	case Failed:
		s = d.Reason
	default:
		s = fmt.Sprintf("%T", data)
	}
	return clipTo(s, MaxSummary)
}

// splitText writes a split as v=p pairs in version order.
func splitText(t map[string]int) string {
	vs := make([]string, 0, len(t))
	for v := range t {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s=%d", v, t[v])
	}
	return strings.Join(parts, " ")
}

// clipTo cuts s to at most max bytes on a rune boundary, ending in "…"
// when cut.
func clipTo(s string, max int) string {
	const ellipsis = "…"
	if len(s) <= max {
		return s
	}
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
