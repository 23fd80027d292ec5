package present

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/iter8-knative/iter8/events"
)

// EventsAfter returns the entries of an events log (the Service's
// iter8.dev/events, oldest first) numbered after seq, and how many events
// numbered after seq the log no longer holds: it keeps only the last few,
// so a reader that fell behind is told what it missed.
func EventsAfter(log []events.Emitted, seq int) (fresh []events.Emitted, missed int) {
	for _, e := range log {
		if e.Seq > seq {
			fresh = append(fresh, e)
		}
	}
	if len(fresh) > 0 {
		missed = fresh[0].Seq - seq - 1
	}
	return fresh, max(missed, 0)
}

// EventLine is one emitted event on one line, as `kn iter8 watch` prints
// it to a log: its time, type, id and summary.
func EventLine(e events.Emitted) string {
	s := fmt.Sprintf("%s  emitted %s %s", e.Time.UTC().Format("15:04:05"), e.Type, e.ID)
	if e.Summary != "" {
		s += " · " + e.Summary
	}
	return s
}

// MissedLine says that n emitted events are no longer in the log.
func MissedLine(n int) string {
	return fmt.Sprintf("          (%d emitted %s not shown: the Service keeps only the last ones)", n, plural(n, "event", "events"))
}

// WriteEvents prints the last n entries of an events log as a table, for
// the view `kn iter8 watch` redraws on a terminal; summaries are cut to
// width runes.
func WriteEvents(w io.Writer, log []events.Emitted, n, width int) error {
	if len(log) > n {
		log = log[len(log)-n:]
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join([]string{"EMITTED", "TYPE", "ID", "SUMMARY"}, "\t"))
	for _, e := range log {
		fmt.Fprintln(tw, strings.Join([]string{e.Time.UTC().Format("15:04:05"), e.Type, e.ID, orDash(Truncate(e.Summary, width))}, "\t"))
	}
	return tw.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
