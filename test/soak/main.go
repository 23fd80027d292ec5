// Command soak loads the real iter8-functions binary for a bounded time, on
// loopback only, and reports what it sustained: it starts a private control
// plane (no Knative controller: Services and their Revisions are created as
// objects), starts an experiment on each of M Services, then sends metrics
// windows at N events/s in total, some of them again (duplicates, as
// Knative redelivers), each redelivered until it is answered 2xx. At the
// end it checks that every Service counted each window exactly once.
//
//	go run ./test/soak [-services M] [-rate N] [-duration D] [-dup F] [-seed S] [-out FILE]
//
// It prints a markdown table and writes it into the soak section of
// docs/reliability.md (-out "" to skip). It reports; it asserts nothing but
// the exact counts, whose failure makes it exit 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// redeliveryReach is how many of a Service's latest events a duplicate may
// repeat: at the soak's rates, several times what Knative's retries span.
const redeliveryReach = 128

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type options struct {
	services int
	rate     float64
	duration time.Duration
	dup      float64
	seed     uint64
	inflight int
	out      string
}

func run() error {
	var o options
	flag.IntVar(&o.services, "services", 4, "Services, each with its own experiment")
	flag.Float64Var(&o.rate, "rate", 20, "metrics events per second offered, over all Services")
	flag.DurationVar(&o.duration, "duration", 2*time.Minute, "how long to offer load")
	flag.Float64Var(&o.dup, "dup", 0.1, "share of sends that repeat an earlier window (same id)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the send schedule")
	flag.IntVar(&o.inflight, "inflight", 32, "most deliveries in flight at once")
	flag.StringVar(&o.out, "out", "docs/reliability.md", "markdown file whose soak section is replaced; empty: none")
	flag.Parse()
	if o.services < 1 || o.rate <= 0 || o.duration <= 0 || o.dup < 0 || o.dup >= 1 || o.inflight < 1 {
		return errors.New("need -services >= 1, -rate > 0, -duration > 0, 0 <= -dup < 1, -inflight >= 1")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "soak: "+format+"\n", args...) }

	c, err := cluster.Start(ctx, cluster.Options{Logf: logf})
	if err != nil {
		return err
	}
	defer c.Stop()
	fn, err := deliver.StartFunctions(ctx, deliver.FunctionsBin(c.Root), c.Kubeconfig)
	if err != nil {
		return err
	}
	defer fn.Stop()
	sv := servingclient.NewForConfigOrDie(c.Config)
	ns := "soak"
	if err := createNamespace(ctx, c, ns); err != nil {
		return err
	}
	client := deliver.NewClient(fn.URL)
	names := make([]string, o.services)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%d", i)
		if err := deliver.BareService(ctx, sv, ns, names[i], names[i]+"-v1", names[i]+"-v2"); err != nil {
			return err
		}
		spec := fmt.Sprintf(`{"kind":"canary","baseline":"%[1]s-v1","candidates":["%[1]s-v2"],
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.5}],
 "limits":{"minSamples":100000000,"maxSamples":1000000000}}`, names[i])
		ev, _ := deliver.New(events.TypeExperimentStart, "start", events.Subject(ns, names[i]), []byte(spec))
		if r, _, err := client.Deliver(ctx, ev); err != nil || r.Status != http.StatusOK {
			return fmt.Errorf("start %s: %v %+v", names[i], err, r)
		}
	}
	logf("%d experiments running; offering %.0f events/s for %s (pid %d)", o.services, o.rate, o.duration, fn.PID())

	res, err := load(ctx, o, client, fn, ns, names)
	if err != nil {
		return err
	}
	if res.conflicts, err = deliver.Scrape(ctx, fn.URL, "iter8_write_conflicts_total"); err != nil {
		return err
	}
	st := store.New(sv.ServingV1())
	res.verify = "exact"
	for i, name := range names {
		rec, err := st.Get(ctx, ns, name)
		if err != nil {
			return err
		}
		want := res.want[i]
		d := rec.State.Data
		if rec.State.Iteration != want.windows || d[0][0].Trials != want.trials[0] || d[1][0].Trials != want.trials[1] || d[0][0].Successes != want.errs {
			res.verify = "MISMATCH"
			logf("%s: iteration %d trials %v/%v errors %v; want %d, %v/%v, %v", name, rec.State.Iteration,
				d[0][0].Trials, d[1][0].Trials, d[0][0].Successes, want.windows, want.trials[0], want.trials[1], want.errs)
		}
	}
	table := res.markdown(o)
	fmt.Print(table)
	if o.out != "" {
		if err := gendoc.ReplaceFile(o.out, "soak", table); err != nil {
			return err
		}
		logf("wrote the soak section of %s", o.out)
	}
	if res.verify != "exact" {
		return errors.New("counts differ from the windows sent: see above")
	}
	return nil
}

// expected is what one Service must have counted.
type expected struct {
	windows int
	trials  [2]float64
	errs    float64
}

type result struct {
	offered, sent, dups, deliveries int
	elapsed                         time.Duration
	latencies                       []time.Duration
	answers                         map[int]int
	rss                             []rssSample
	conflicts                       float64
	want                            []expected
	verify                          string
}

type rssSample struct {
	at  time.Duration
	rss int64
}

type job struct {
	svc int
	ev  deliver.Event
}

// load offers windows at o.rate until o.duration, then waits for the
// deliveries in flight.
func load(ctx context.Context, o options, client *deliver.Client, fn *deliver.Functions, ns string, names []string) (*result, error) {
	res := &result{answers: map[int]int{}, want: make([]expected, len(names))}
	rng := rand.New(rand.NewPCG(o.seed, 0x50a4))
	jobs := make(chan job, o.inflight)
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Deliveries may outlast the offering by a drain period, no more.
	dctx, cancel := context.WithTimeout(ctx, o.duration+2*time.Minute)
	defer cancel()
	var failed error
	for range o.inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				t0 := time.Now()
				r, a, err := client.Deliver(dctx, j.ev)
				lat := time.Since(t0)
				mu.Lock()
				res.deliveries++
				for s, n := range a.Statuses {
					res.answers[s] += n
				}
				if err != nil || r.Status != http.StatusOK {
					if failed == nil {
						failed = fmt.Errorf("%s %s: %v; answer %d %s", names[j.svc], j.ev.ID, err, r.Status, r.Body)
					}
				} else {
					res.latencies = append(res.latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		start := time.Now()
		for {
			if rss, err := fn.RSS(); err == nil {
				mu.Lock()
				res.rss = append(res.rss, rssSample{time.Since(start), rss})
				mu.Unlock()
			}
			select {
			case <-dctx.Done():
				return
			case <-time.After(2 * time.Second):
				if time.Since(start) > o.duration+5*time.Second {
					return
				}
			}
		}
	}()

	next := make([]int, len(names))
	sentIDs := make([][]deliver.Event, len(names))
	interval := time.Duration(float64(time.Second) / o.rate)
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for k := 0; time.Since(start) < o.duration; k++ {
		select {
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return nil, ctx.Err()
		case <-tick.C:
		}
		res.offered++
		s := k % len(names)
		var j job
		if len(sentIDs[s]) > 0 && rng.Float64() < o.dup {
			// A redelivery: Knative retries within its retry horizon, so
			// a duplicate repeats one of the Service's recent events
			// (see store.DefaultDedupeWindow for how far back is safe).
			recent := sentIDs[s][max(0, len(sentIDs[s])-redeliveryReach):]
			j = job{svc: s, ev: recent[rng.IntN(len(recent))]}
			res.dups++
		} else {
			i := next[s]
			next[s]++
			n1, n2, e1 := int64(100+i%17), int64(10+i%5), int64(i%3)
			w := deliver.RatioWindow(i, "errors", map[string]int64{names[s] + "-v1": n1, names[s] + "-v2": n2}, map[string]int64{names[s] + "-v1": e1})
			ev, err := deliver.New(events.TypeMetricsObserved, "w-"+strconv.Itoa(i), events.Subject(ns, names[s]), w)
			if err != nil {
				return nil, err
			}
			j = job{svc: s, ev: ev}
			sentIDs[s] = append(sentIDs[s], ev)
			want := &res.want[s]
			want.windows++
			want.trials[0] += float64(n1)
			want.trials[1] += float64(n2)
			want.errs += float64(e1)
		}
		res.sent++
		// A full queue blocks the schedule: the offered rate then falls
		// to what the functions sustain, which is what is measured.
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	cancel()
	<-sampler
	if failed != nil {
		return nil, fmt.Errorf("a delivery failed: %w", failed)
	}
	return res, nil
}

func createNamespace(ctx context.Context, c *cluster.Cluster, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Kube().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	return nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

func (r *result) markdown(o options) string {
	var b strings.Builder
	retried := 0
	for s, n := range r.answers {
		if s != http.StatusOK {
			retried += n
		}
	}
	var peak int64
	for _, s := range r.rss {
		peak = max(peak, s.rss)
	}
	mib := func(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }
	first, last := int64(0), int64(0)
	if len(r.rss) > 0 {
		first, last = r.rss[0].rss, r.rss[len(r.rss)-1].rss
	}
	fmt.Fprintf(&b, "Soak run of %s: %d Services, %.0f events/s offered for %s, %.0f%% duplicates, seed %d, at most %d deliveries in flight; %d CPUs (%s/%s).\n\n",
		time.Now().UTC().Format("2006-01-02"), o.services, o.rate, o.duration, 100*o.dup, o.seed, o.inflight, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	b.WriteString("| metric | value |\n| --- | --- |\n")
	rows := [][2]string{
		{"events sent (of which duplicates)", fmt.Sprintf("%d (%d)", r.sent, r.dups)},
		{"events sustained", fmt.Sprintf("%.1f/s (%d answered 2xx in %s)", float64(len(r.latencies))/r.elapsed.Seconds(), len(r.latencies), r.elapsed.Round(time.Second))},
		{"delivery latency p50 / p99 / max", fmt.Sprintf("%s / %s / %s", percentile(r.latencies, .5).Round(time.Millisecond),
			percentile(r.latencies, .99).Round(time.Millisecond), percentile(r.latencies, 1).Round(time.Millisecond))},
		{"answers other than 200 (redelivered)", fmt.Sprintf("%d (%s)", retried, deliver.FormatStatuses(r.answers))},
		{"write conflicts retried (iter8_write_conflicts_total)", fmt.Sprintf("%.0f", r.conflicts)},
		{"functions RSS first / peak / last", fmt.Sprintf("%s / %s / %s", mib(first), mib(peak), mib(last))},
		{"counts after the run", r.verify},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}
	b.WriteString("\nRSS of the functions process over time:\n\n| t | RSS |\n| --- | --- |\n")
	step := max(1, len(r.rss)/8)
	for i := 0; i < len(r.rss); i += step {
		fmt.Fprintf(&b, "| %s | %s |\n", r.rss[i].at.Round(time.Second), mib(r.rss[i].rss))
	}
	return b.String()
}
