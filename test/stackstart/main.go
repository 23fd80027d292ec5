// Command stackstart measures what Knative Eventing adds to the start of a
// test binary's local stack (#15's budget: under 10 s more): it starts and
// stops the stack of test/cluster with Options{Knative: true} (the
// integration and reliability tests) and with Options{Eventing: true} (the
// e2e tests), alternately, -runs times each, and reports the wall time of
// each start, without any wait for the host lock, and the CPU time the
// start and stop took in this process and the processes it ran (which
// depends little on the machine's load, unlike the wall time).
//
//	go run ./test/stackstart [-runs N] [-out FILE]
//
// It prints a markdown table and writes it into the stackstart section of
// docs/benchmarks.md (-out "" to skip).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

func main() {
	runs := flag.Int("runs", 3, "starts of each kind")
	out := flag.String("out", "docs/benchmarks.md", "markdown file whose stackstart section to rewrite; empty to skip")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, *runs, *out); err != nil {
		slog.Error("stackstart", "error", err)
		os.Exit(1)
	}
}

// sample is one start.
type sample struct{ wall, cpu time.Duration }

func run(ctx context.Context, runs int, out string) error {
	got := map[bool][]sample{}
	for i := 0; i < runs; i++ {
		for _, eventing := range []bool{false, true} {
			s, err := startStop(ctx, eventing)
			if err != nil {
				return fmt.Errorf("run %d, eventing %v: %w", i+1, eventing, err)
			}
			slog.Info("stack started and stopped", "run", i+1, "eventing", eventing, "wall", s.wall.Round(time.Millisecond), "cpu", s.cpu.Round(time.Millisecond))
			got[eventing] = append(got[eventing], s)
		}
	}
	md := report(got, runs)
	fmt.Print(md)
	if out == "" {
		return nil
	}
	return gendoc.ReplaceFile(out, "stackstart", md)
}

// startStop starts a stack and stops it. The wall time is the start's,
// less any wait for the host lock (another stack on the host); the CPU
// time is the start's and the stop's, of this process and of the
// processes the stack ran (counted once they have exited).
func startStop(ctx context.Context, eventing bool) (sample, error) {
	var waited, waitFrom time.Time
	logf := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		switch {
		case strings.HasPrefix(msg, "host lock: waiting"):
			waitFrom = time.Now()
		case !waitFrom.IsZero() && waited.IsZero():
			waited = time.Now()
		}
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{Knative: true, Eventing: eventing, Logf: logf})
	if err != nil {
		return sample{}, err
	}
	wall := time.Since(t0)
	if !waitFrom.IsZero() && !waited.IsZero() {
		wall -= waited.Sub(waitFrom)
	}
	if err := c.Stop(); err != nil {
		return sample{}, err
	}
	return sample{wall: wall, cpu: cpuTime() - cpu0}, nil
}

// cpuTime is the user and system time of this process and its reaped
// children.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func median(ss []sample, f func(sample) time.Duration) time.Duration {
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = f(s)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func report(got map[bool][]sample, runs int) string {
	wall := func(s sample) time.Duration { return s.wall }
	cpu := func(s sample) time.Duration { return s.cpu }
	var b strings.Builder
	fmt.Fprintf(&b, "Stack start of a test binary, with and without Knative Eventing (`go run ./test/stackstart`, %d starts each, alternating, %s, %d CPUs, load average %s when it ended). Wall time excludes waiting for the host lock; CPU time is the start and the stop, of the test process and every process the stack ran.\n\n",
		runs, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), loadavg())
	fmt.Fprintln(&b, "| stack | wall (median) | wall (each) | CPU (median) |")
	fmt.Fprintln(&b, "| --- | ---: | --- | ---: |")
	for _, eventing := range []bool{false, true} {
		name := "`Options{Knative: true}`"
		if eventing {
			name = "`Options{Eventing: true}`"
		}
		var each []string
		for _, s := range got[eventing] {
			each = append(each, fmt.Sprintf("%.1f s", s.wall.Seconds()))
		}
		fmt.Fprintf(&b, "| %s | %.1f s | %s | %.1f s |\n", name, median(got[eventing], wall).Seconds(), strings.Join(each, ", "), median(got[eventing], cpu).Seconds())
	}
	fmt.Fprintf(&b, "\nEventing adds %.1f s of wall time (median against median) and %.1f s of CPU time to each start.\n",
		(median(got[true], wall) - median(got[false], wall)).Seconds(), (median(got[true], cpu) - median(got[false], cpu)).Seconds())
	return b.String()
}

// loadavg is the one-minute load average, or "unknown".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
