package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/prometheus"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// stack is what every measurement shares.
type stack struct {
	o      options
	c      *cluster.Cluster
	exp    *exporter
	prom   *prometheus.Server
	broker *broker
	logf   func(string, ...any)
}

// row is one N and replica count, added up over its ticks.
type row struct {
	n, replicas int
	ticks       int
	tick        []time.Duration // from sending the tick to every experiment folded
	api         apiCounts       // over all ticks
	fnCPU       float64         // seconds, all replicas, all ticks
	rss         int64           // peak of any replica
	queries     float64         // Prometheus queries, all ticks
	objBytes    float64         // mean size of a Service as stored
	stateBytes  float64         // mean size of iter8's annotations
	answers     map[int]int     // the tick deliveries' statuses
	load        string          // /proc/loadavg after the last tick
	ctlCPU      float64         // the Serving controller's CPU seconds, all ticks
	reconciles  float64         // its reconciles of this namespace, all ticks
}

// spec is every experiment's: a canary on the errors ratio that never
// decides, so that every tick has work.
func spec(name string) []byte {
	return []byte(fmt.Sprintf(`{"kind":"canary","baseline":"%[1]s-v1","candidates":["%[1]s-v2"],
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.5}],
 "limits":{"minSamples":100000000,"maxSamples":1000000000}}`, name))
}

// parallel runs f(0..n-1) on k goroutines, returning the first error.
func parallel(n, k int, f func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// measure, for each replica count, creates n Services with running
// experiments and runs the ticks. Each replica count has Services and
// experiments of its own (namespace scale-N-rR), so that every row
// measures experiments that have folded in the same windows: the state
// grows with each window (the events log, the history), and a row that
// went on with the previous row's experiments would weigh its Services
// after more windows, not more replicas.
func (s *stack) measure(ctx context.Context, n int, replicaCounts []int, controller bool) ([]row, error) {
	var rows []row
	for _, r := range replicaCounts {
		ns := fmt.Sprintf("scale-%d-r%d", n, r)
		if controller {
			ns = fmt.Sprintf("scale-controller-%d-r%d", n, r)
		}
		rw, err := s.measureOne(ctx, ns, n, r, controller)
		if err != nil {
			return rows, err
		}
		rows = append(rows, rw)
	}
	return rows, nil
}

// measureOne creates n Services with running experiments in namespace ns
// and runs the ticks on r replicas.
func (s *stack) measureOne(ctx context.Context, ns string, n, r int, controller bool) (row, error) {
	if _, err := s.c.Kube().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return row{}, fmt.Errorf("namespace %s: %w", ns, err)
	}
	sv := servingclient.NewForConfigOrDie(s.c.Config)
	name := func(i int) string { return fmt.Sprintf("svc-%d", i) }
	t0 := time.Now()
	if err := parallel(n, 8, func(i int) error {
		if controller {
			// The controller must see real revisions, or the Route it
			// reconciles is broken and no window is folded in.
			return s.c.DeployRevisions(ctx, ns, name(i), deliver.Image, "v1", "v2")
		}
		return deliver.BareService(ctx, sv, ns, name(i), name(i)+"-v1", name(i)+"-v2")
	}); err != nil {
		return row{}, err
	}
	s.logf("%s: %d Services created in %s", ns, n, time.Since(t0).Round(time.Millisecond))
	env := []string{"ITER8_PROMETHEUS_URL=" + s.prom.URL(), "ITER8_PROMETHEUS_PRESET=knative-opencensus",
		"ITER8_PROMETHEUS_DELAY=0s", "K_SINK=" + s.broker.url, "ITER8_LOG_FORMAT=text",
		// Each tick collects up to its own time, not the minute's.
		"ITER8_TICK_PERIOD=1ms", "ITER8_TICK_FANOUT=" + strconv.FormatBool(s.o.fanout)}
	args := []string{"-namespaces", ns}
	if s.o.workers > 0 {
		args = append(args, "-tick-workers", strconv.Itoa(s.o.workers))
	}
	var fns []*deliver.Functions
	var urls []string
	defer func() {
		for _, f := range fns {
			f.Stop()
		}
	}()
	for range r {
		f, err := deliver.StartFunctions(ctx, deliver.FunctionsBin(s.c.Root), s.c.Kubeconfig, deliver.WithEnv(env...), deliver.WithArgs(args...))
		if err != nil {
			return row{}, err
		}
		fns, urls = append(fns, f), append(urls, f.URL)
	}
	s.broker.route(urls)
	t0 = time.Now()
	client := deliver.NewClient(urls[0])
	if err := parallel(n, 8, func(i int) error {
		ev, _ := deliver.New(events.TypeExperimentStart, "start", events.Subject(ns, name(i)), spec(name(i)))
		rep, _, err := client.Deliver(ctx, ev)
		if err == nil && rep.Status != http.StatusOK {
			err = fmt.Errorf("start %s/%s: HTTP %d %s", ns, name(i), rep.Status, rep.Body)
		}
		return err
	}); err != nil {
		return row{}, err
	}
	s.logf("%s: %d experiments started in %s", ns, n, time.Since(t0).Round(time.Millisecond))
	return s.ticks(ctx, ns, n, fns, controller)
}

// snapshot is every counter a tick is measured by.
type snapshot struct {
	api        apiCounts
	cpu        []float64
	queries    float64
	ctlCPU     float64
	reconciles float64
}

func (s *stack) snap(ctx context.Context, ns string, fns []*deliver.Functions, controller bool) (snapshot, error) {
	var sn snapshot
	var err error
	if sn.api, err = readAPI(ctx, s.c.Kube()); err != nil {
		return sn, err
	}
	for _, f := range fns {
		cpu, err := cpuSeconds(f.PID())
		if err != nil {
			return sn, err
		}
		sn.cpu = append(sn.cpu, cpu)
	}
	if sn.queries, err = promQueries(ctx, s.prom.URL()); err != nil {
		return sn, err
	}
	if controller {
		if sn.ctlCPU, err = cpuSeconds(s.c.ControllerPID()); err != nil {
			return sn, err
		}
		for _, line := range strings.Split(s.c.ControllerLog(), "\n") {
			if strings.Contains(line, "Reconcile succeeded") && strings.Contains(line, `"`+ns+`/`) {
				sn.reconciles++
			}
		}
	}
	return sn, nil
}

// ticks sends s.o.ticks ticks, one at a time, each to the next replica, as
// a PingSource's Trigger would, after new traffic reached Prometheus.
func (s *stack) ticks(ctx context.Context, ns string, n int, fns []*deliver.Functions, controller bool) (row, error) {
	rw := row{n: n, replicas: len(fns), ticks: s.o.ticks, answers: map[int]int{}, api: apiCounts{verb: map[string]float64{}}}
	st := store.New(servingclient.NewForConfigOrDie(s.c.Config).ServingV1())
	for k := range s.o.ticks {
		for i := range n {
			s.exp.serve(ns, fmt.Sprintf("svc-%d-v1", i), 100, 1)
			s.exp.serve(ns, fmt.Sprintf("svc-%d-v2", i), 100, 2)
		}
		if err := s.prom.Settle(ctx, time.Now()); err != nil {
			return rw, err
		}
		before, err := s.snap(ctx, ns, fns, controller)
		if err != nil {
			return rw, err
		}
		t0 := time.Now()
		ev, _ := deliver.New(events.TypePing, fmt.Sprintf("tick-%s-%d-%d", ns, len(fns), k), "", []byte(`{}`))
		ev.Source = "/apis/v1/namespaces/iter8-system/pingsources/iter8-tick"
		_, a, err := deliver.NewClient(fns[k%len(fns)].URL).Deliver(ctx, ev)
		if err != nil {
			return rw, fmt.Errorf("tick %d: %w", k, err)
		}
		for c, m := range a.Statuses {
			rw.answers[c] += m
		}
		s.broker.drain()
		var took time.Duration
		var recs []store.Record
		polls := 0
		if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 15*time.Minute, true, func(ctx context.Context) (bool, error) {
			at := time.Since(t0)
			polls++
			recs, err = st.List(ctx, ns, "")
			if err != nil {
				return false, nil
			}
			for _, r := range recs {
				if r.State == nil || r.State.Collected.Before(t0.Truncate(time.Millisecond)) {
					return false, nil
				}
			}
			took = at
			return len(recs) == n, nil
		}); err != nil {
			return rw, fmt.Errorf("%s tick %d: not every experiment folded a window: %w", ns, k, err)
		}
		rw.tick = append(rw.tick, took)
		after, err := s.snap(ctx, ns, fns, controller)
		if err != nil {
			return rw, err
		}
		d := after.api.minus(before.api)
		for v, c := range d.verb {
			rw.api.verb[v] += c
		}
		rw.api.verb["LIST"] -= float64(polls) // our own polling
		rw.api.conflicts += d.conflicts
		for i := range after.cpu {
			rw.fnCPU += after.cpu[i] - before.cpu[i]
		}
		rw.queries += after.queries - before.queries
		rw.ctlCPU += after.ctlCPU - before.ctlCPU
		rw.reconciles += after.reconciles - before.reconciles
		var obj, ann float64
		for _, r := range recs {
			b, _ := json.Marshal(r.Service)
			obj += float64(len(b))
			for k, v := range r.Service.Annotations {
				if strings.HasPrefix(k, events.Prefix) {
					ann += float64(len(k) + len(v))
				}
			}
		}
		rw.objBytes, rw.stateBytes = obj/float64(n), ann/float64(n)
		if b, err := os.ReadFile("/proc/loadavg"); err == nil {
			rw.load = strings.Join(strings.Fields(string(b))[:3], " ")
		}
		for _, f := range fns {
			if m, err := f.RSS(); err == nil {
				rw.rss = max(rw.rss, m)
			}
		}
		s.logf("%s, %d replicas, tick %d: every experiment folded in %s; %v", ns, len(fns), k, took.Round(time.Millisecond), d.verb)
		if k == s.o.ticks-1 {
			if err := s.dump(ns, recs); err != nil {
				return rw, err
			}
		}
	}
	return rw, nil
}

// dump writes the iter8 annotations of every Service in recs, by name,
// into -dump's directory, one JSON file per row (its namespace), to diff
// two rows' state.
func (s *stack) dump(ns string, recs []store.Record) error {
	if s.o.dump == "" {
		return nil
	}
	out := map[string]map[string]string{}
	for _, r := range recs {
		ann := map[string]string{}
		for k, v := range r.Service.Annotations {
			if strings.HasPrefix(k, events.Prefix) {
				ann[k] = v
			}
		}
		out[r.Service.Name] = ann
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.o.dump, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.o.dump, ns+".json"), b, 0o644)
}

// promQueries is how many instant queries Prometheus has answered.
func promQueries(ctx context.Context, url string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("prometheus /metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var total float64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "prometheus_http_requests_total{") && strings.Contains(line, `handler="/api/v1/query"`) {
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			total += v
		}
	}
	return total, nil
}
