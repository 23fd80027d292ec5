// Command scale measures how the PingSource tick scales with the number of
// running experiments and of iter8-functions replicas, on the local stack:
// a private control plane (by default without the Knative controller:
// Services and their Revisions are created as objects, as test/soak does),
// the real iter8-functions binary, a real Prometheus scraping one exporter
// that serves every revision's request counter, and a stand-in for the
// Broker that delivers what the functions emit to the replicas in turn.
// For each N and replica count it sends ticks and reports how long each
// took to fold a window into every experiment, the API requests and 409s
// per experiment, the functions' CPU and memory, Prometheus's queries and
// the bytes each write sends to etcd. With -controller-n it then runs the
// real Knative Serving controller beside a smaller N and reports its
// reconciles and CPU per iter8 write.
//
//	go run ./test/scale [-n 10,100] [-replicas 1,3] [-ticks 2] [-controller-n 10] [-out docs/benchmarks.md] [-section scale] [-dump DIR]
//
// make bench runs the defaults; the N = 1,000 figures come from
//
//	go run ./test/scale -n 1000 -ticks 1 -controller-n 0 -section scale-large
//
// It writes its tables into the section -section of -out (empty: none). It
// asserts that every tick folds a window into every experiment, nothing
// else; exit 1 when one does not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
	"github.com/iter8-knative/iter8/test/prometheus"
)

type options struct {
	ns, replicas []int
	ticks        int
	controllerN  int
	workers      int
	scrape       time.Duration
	out, section string
	fanout       bool
	dump         string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func run() error {
	var o options
	var nFlag, rFlag string
	flag.StringVar(&nFlag, "n", "10,100", "numbers of Services with running experiments")
	flag.StringVar(&rFlag, "replicas", "1,3", "numbers of iter8-functions replicas")
	flag.IntVar(&o.ticks, "ticks", 2, "ticks measured per N and replica count")
	flag.IntVar(&o.controllerN, "controller-n", 10, "Services for the run beside the Knative Serving controller; 0: none")
	flag.IntVar(&o.workers, "tick-workers", 0, "the functions' -tick-workers; 0: their default")
	flag.BoolVar(&o.fanout, "fanout", true, "the tick fans out through the Broker (ITER8_TICK_FANOUT); false: collected in the replica it reaches")
	flag.DurationVar(&o.scrape, "scrape", 2*time.Second, "Prometheus's scrape interval")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown file whose section -section is replaced; empty: none")
	flag.StringVar(&o.section, "section", "scale", "the section of -out to write (scale-large for the N = 1,000 run)")
	flag.StringVar(&o.dump, "dump", "", "directory to write every Service's iter8 annotations into after each row (one JSON file per row); empty: none")
	flag.Parse()
	var err error
	if o.ns, err = ints(nFlag); err != nil {
		return fmt.Errorf("-n %w", err)
	}
	if o.replicas, err = ints(rFlag); err != nil {
		return fmt.Errorf("-replicas %w", err)
	}
	if o.ticks < 1 {
		return errors.New("-ticks must be at least 1")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "scale: "+format+"\n", args...) }

	exp, err := startExporter()
	if err != nil {
		return err
	}
	defer exp.srv.Close()
	prom, err := prometheus.StartEvery(ctx, []string{exp.addr}, o.scrape)
	if err != nil {
		return err
	}
	defer prom.Close()
	br, err := startBroker(ctx, 32)
	if err != nil {
		return err
	}
	defer br.srv.Close()
	env := &stack{o: o, exp: exp, prom: prom, broker: br, logf: logf}

	var rows []row
	c, err := cluster.Start(ctx, cluster.Options{Logf: logf})
	if err != nil {
		return err
	}
	env.c = c
	for _, n := range o.ns {
		r, err := env.measure(ctx, n, o.replicas, false)
		rows = append(rows, r...)
		logf("so far:\n%s", markdown(o, rows, nil))
		if err != nil {
			c.Stop()
			return err
		}
	}
	c.Stop()
	var ctl []row
	if o.controllerN > 0 {
		c, err := cluster.Start(ctx, cluster.Options{Knative: true, Logf: logf})
		if err != nil {
			return err
		}
		env.c = c
		ctl, err = env.measure(ctx, o.controllerN, []int{1}, true)
		c.Stop()
		if err != nil {
			return err
		}
	}
	md := markdown(o, rows, ctl)
	fmt.Print(md)
	if o.out != "" {
		if err := gendoc.ReplaceFile(o.out, o.section, md); err != nil {
			return err
		}
		logf("wrote the %s section of %s", o.section, o.out)
	}
	return nil
}

// header describes the run.
func header(o options) string {
	how := "fanned out: the tick emits one collect event per experiment, which the stand-in Broker delivers to the replicas in turn"
	if !o.fanout {
		how = "in process: the replica the tick reaches collects every experiment (ITER8_TICK_FANOUT=false)"
	}
	return fmt.Sprintf("Scale run of %s on %d CPUs (%s/%s), shared with other work (load average in the last column); Prometheus scraping every %s; %d ticks per row; the tick %s.",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, o.scrape, o.ticks, how)
}
