package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// perTick is a total over a row's ticks, per experiment and tick.
func (r row) perTick(v float64) float64 { return v / float64(r.n*r.ticks) }

// intros open the sections: test/bench rewrites docs/benchmarks.md and
// keeps only what is inside the markers.
var intros = map[string]string{
	"scale": `## Scale: many experiments, several replicas

How the PingSource tick scales with the number of running experiments and
of ` + "`iter8-functions`" + ` replicas on the local stack, and what iter8's writes
cost the Knative Serving controller; what the figures mean for a real
cluster, and the settings to change: [scaling.md](scaling.md). ` + "`make bench`" + `
regenerates this section (N = 10 and 100; the Serving controller's cost at
N = 10) with ` + "`go run ./test/scale`" + `.`,
	"scale-large": `### N = 1,000

These take several minutes on 2 cores, so ` + "`make bench`" + ` does not run them;
they were made, and are regenerated, with

    make build && nice -n 10 go run ./test/scale -n 10,100,1000 -ticks 2 -controller-n 0 -section scale-large`,
}

func markdown(o options, rows, ctl []row) string {
	var b strings.Builder
	if intro, ok := intros[o.section]; ok && o.out != "" {
		b.WriteString(intro + "\n\n")
	}
	b.WriteString(header(o) + "\n\n")
	b.WriteString("Services are created as objects with the Serving controller off (its cost is measured apart, with -controller-n); every row starts experiments of its own (so that each row's Services hold the same number of windows, one per tick), each a canary on the built-in errors ratio that never decides, and before every tick each revision serves new requests that Prometheus scrapes. A tick is sent to one replica, as a PingSource's Trigger delivers it; what the functions emit goes through a stand-in Broker that delivers to the replicas in turn.\n\n")
	b.WriteString("| N | replicas | tick: every experiment folded (median) | per experiment | API requests / experiment / tick | 409s / PUT | functions CPU / tick | peak RSS / replica | Prometheus queries / experiment / tick | Service as stored (iter8 annotations) | bytes to etcd / experiment / tick | tick answers | load average |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		m := median(r.tick)
		puts := r.api.verb["PUT"]
		var verbs []string
		for _, v := range []string{"GET", "PUT", "LIST"} {
			verbs = append(verbs, fmt.Sprintf("%.2f %s", r.perTick(r.api.verb[v]), v))
		}
		conflicts := 0.0
		if puts > 0 {
			conflicts = r.api.conflicts / puts
		}
		fmt.Fprintf(&b, "| %d | %d | %s | %.1f ms | %s | %.3f | %.2f s (%.1f ms / experiment) | %.1f MiB | %.2f | %.1f KiB (%.1f KiB) | %.1f KiB | %s | %s |\n",
			r.n, r.replicas, m.Round(10*time.Millisecond), float64(m.Microseconds())/1000/float64(r.n),
			strings.Join(verbs, ", "), conflicts, r.fnCPU/float64(r.ticks), 1000*r.perTick(r.fnCPU),
			float64(r.rss)/(1<<20), r.perTick(r.queries), r.objBytes/1024, r.stateBytes/1024,
			r.perTick(puts)*r.objBytes/1024, deliver.FormatStatuses(r.answers), r.load)
	}
	b.WriteString(growth(rows))
	if len(ctl) > 0 {
		b.WriteString("\nThe hidden cost of state in annotations, with the real Knative Serving controller running beside the functions:\n\n")
		b.WriteString("| N | replicas | iter8 writes (PUT) | controller reconciles / iter8 write | controller CPU / iter8 write | status writes (PUT status) / iter8 write |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, r := range ctl {
			puts := max(r.api.verb["PUT"], 1)
			fmt.Fprintf(&b, "| %d | %d | %.0f | %.2f | %.1f ms | %.2f |\n", r.n, r.replicas, r.api.verb["PUT"],
				r.reconciles/puts, 1000*r.ctlCPU/puts, r.api.verb["PUT/status"]/puts)
		}
	}
	return b.String()
}

// growth says how the tick's time and CPU grow from one N to the next, per
// replica count, and projects the largest N's cost per experiment.
func growth(rows []row) string {
	var b strings.Builder
	byR := map[int][]row{}
	var rs []int
	for _, r := range rows {
		if _, ok := byR[r.replicas]; !ok {
			rs = append(rs, r.replicas)
		}
		byR[r.replicas] = append(byR[r.replicas], r)
	}
	b.WriteString("\n")
	for _, rc := range rs {
		rr := byR[rc]
		var steps []string
		for i := 1; i < len(rr); i++ {
			a, c := rr[i-1], rr[i]
			steps = append(steps, fmt.Sprintf("N %d→%d (×%.0f): tick ×%.1f, CPU ×%.1f", a.n, c.n, float64(c.n)/float64(a.n),
				median(c.tick).Seconds()/median(a.tick).Seconds(), c.fnCPU/max(a.fnCPU, 1e-9)))
		}
		last := rr[len(rr)-1]
		per := median(last.tick).Seconds() / float64(last.n)
		fmt.Fprintf(&b, "- %d replica(s): %s; at N = %d a tick costs %.1f ms per experiment, so one minute's tick holds about %.0f experiments.\n",
			rc, strings.Join(steps, "; "), last.n, 1000*per, 60/per)
	}
	return b.String()
}
