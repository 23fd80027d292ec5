package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
)

// The events log is the last LogSize events the functions emitted for the
// Service's experiment (events.Emitted: sequence number, type, id, time and
// a line of summary), written in the same update as the state change that
// emitted them. It is how `kn iter8 watch` shows the emitted events to a
// user who can read the Service but cannot subscribe to the Broker. It has
// a fixed bound, MaxLogBytes, counted in the annotation budget.
const (
	// LogSize is how many emitted events the log keeps: a window emits
	// one to three, so the log covers the last few windows, and a watch
	// that reads every change of the Service misses none.
	LogSize = 16
	// maxLogType and maxLogID bound an entry's type and id; iter8's own
	// are 30 and 32 bytes.
	maxLogType = 40
	maxLogID   = 40
	// MaxLogBytes bounds the log's annotation: LogSize entries with every
	// field at its longest and the summary all escaped characters
	// (TestEventLogBound).
	MaxLogBytes = 7 << 10
)

// EventsOf reads the events log of a Service, oldest first; nil when it
// has none.
func EventsOf(svc *servingv1.Service) ([]events.Emitted, error) {
	raw := svc.Annotations[AnnotationEvents]
	if raw == "" {
		return nil, nil
	}
	var log []events.Emitted
	if err := json.Unmarshal([]byte(raw), &log); err != nil {
		return nil, fmt.Errorf("service %s/%s: annotation %s: %w", svc.Namespace, svc.Name, AnnotationEvents, err)
	}
	return log, nil
}

// writeLog writes into next (a copy of rec's Service) the events log with
// the events ch emitted; a new experiment starts a new log.
func writeLog(next *servingv1.Service, rec Record, ch *Change) error {
	fresh := ch.Spec != nil && (rec.State == nil || rec.State.ID != ch.State.ID)
	if !fresh && len(ch.Emitted) == 0 {
		return nil
	}
	log, err := appendLog(rec.Service, fresh, ch.Emitted)
	if err != nil {
		return err
	}
	if log == "" {
		delete(next.Annotations, AnnotationEvents)
	} else {
		next.Annotations[AnnotationEvents] = log
	}
	return nil
}

// appendLog returns the events log of svc with emitted added, numbered on
// from the last entry, keeping the last LogSize. fresh starts a new log (a
// new experiment). A log that cannot be read is started afresh: it is for
// people, and must never stop a write.
func appendLog(svc *servingv1.Service, fresh bool, emitted []events.Emitted) (string, error) {
	var log []events.Emitted
	if !fresh {
		log, _ = EventsOf(svc)
	}
	seq := 0
	if len(log) > 0 {
		seq = log[len(log)-1].Seq
	}
	for _, e := range emitted {
		seq++
		log = append(log, events.Emitted{
			Seq: seq, Type: clipped(e.Type, maxLogType), ID: clipped(e.ID, maxLogID),
			Time: e.Time.UTC(), Summary: clipped(printable(e.Summary), events.MaxSummary),
		})
	}
	if len(log) > LogSize {
		log = log[len(log)-LogSize:]
	}
	if len(log) == 0 {
		return "", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<" stays one byte, not six
	if err := enc.Encode(log); err != nil {
		return "", fmt.Errorf("events log: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// printable replaces control characters, which JSON would write as six
// bytes each, with spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// clipped cuts s to at most max bytes on a rune boundary.
func clipped(s string, max int) string {
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	for len(string(r)) > max {
		r = r[:len(r)-1]
	}
	return string(r)
}
