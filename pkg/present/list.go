package present

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iter8-knative/iter8/pkg/experiment"
)

// ListRow is one experiment in `kn iter8 list`.
type ListRow struct {
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	Kind      string `json:"kind"`
	Phase     string `json:"phase"`
	Outcome   string `json:"outcome,omitempty"`
	// Version is the winner of a completed experiment, else the leader.
	Version   string `json:"version,omitempty"`
	Iteration int    `json:"iteration"`
	// Traffic is the Service's live split, such as "v1=70 v2=30".
	Traffic  string `json:"traffic"`
	Age      string `json:"age"`
	Decision string `json:"decision,omitempty"`
}

// phaseOrder lists active experiments first, as people look for them.
var phaseOrder = map[experiment.Phase]int{
	experiment.PhaseRunning: 0, experiment.PhasePaused: 1, experiment.PhasePending: 2,
	experiment.PhaseCompleted: 3, experiment.PhaseFailed: 4,
}

// List builds the rows of `kn iter8 list`, grouped by phase (running,
// paused, pending, completed, failed), then by namespace and name.
func List(ins []Input, now time.Time) []ListRow {
	sorted := append([]Input(nil), ins...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		pa, oka := phaseOrder[a.State.Phase]
		pb, okb := phaseOrder[b.State.Phase]
		if !oka {
			pa = len(phaseOrder)
		}
		if !okb {
			pb = len(phaseOrder)
		}
		if pa != pb {
			return pa < pb
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Service < b.Service
	})
	rows := make([]ListRow, 0, len(sorted))
	for _, in := range sorted {
		st := in.State
		r := ListRow{
			Namespace: in.Namespace, Service: in.Service, Kind: in.Spec.Kind,
			Phase: string(st.Phase), Outcome: st.Outcome, Iteration: st.Iteration,
			Traffic: Split(st.Versions, in.Traffic), Age: Age(now, st.Started.Time),
		}
		switch {
		case st.Winner != "":
			r.Version = st.Winner
		case st.Last != nil:
			r.Version = st.Last.Leader
		}
		if st.Last != nil {
			r.Decision = st.Last.Decision
		}
		if st.Phase == experiment.PhaseCompleted || st.Phase == experiment.PhaseFailed {
			r.Decision = st.Reason
		}
		rows = append(rows, r)
	}
	return rows
}

// WriteList prints rows as a table; the namespace column only when the
// rows span namespaces (-A). Long decisions are cut to keep one line per
// experiment; -o json has them whole.
func WriteList(w io.Writer, rows []ListRow, allNamespaces bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := []string{"SERVICE", "KIND", "PHASE", "OUTCOME", "VERSION", "ITERATION", "TRAFFIC", "AGE", "DECISION"}
	if allNamespaces {
		header = append([]string{"NAMESPACE"}, header...)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := []string{r.Service, r.Kind, r.Phase, orDash(r.Outcome), orDash(r.Version),
			fmt.Sprint(r.Iteration), r.Traffic, r.Age, Truncate(orDash(r.Decision), 60)}
		if allNamespaces {
			cells = append([]string{r.Namespace}, cells...)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
