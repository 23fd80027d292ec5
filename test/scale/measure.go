package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/kubernetes"

	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// apiCounts are kube-apiserver's request counters for Knative Services, by
// verb ("GET", "LIST", "PUT" with "PUT/status" for the status subresource)
// and, for PUTs, conflicts.
type apiCounts struct {
	verb      map[string]float64
	conflicts float64
}

var labelRE = regexp.MustCompile(`(\w+)="([^"]*)"`)

// readAPI scrapes kube-apiserver's /metrics.
func readAPI(ctx context.Context, kube kubernetes.Interface) (apiCounts, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return apiCounts{}, fmt.Errorf("kube-apiserver /metrics: %w", err)
	}
	a := apiCounts{verb: map[string]float64{}}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		labels := map[string]string{}
		for _, m := range labelRE.FindAllStringSubmatch(line[:end], -1) {
			labels[m[1]] = m[2]
		}
		if labels["group"] != "serving.knative.dev" || labels["resource"] != "services" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		verb := labels["verb"]
		if labels["subresource"] != "" {
			verb += "/" + labels["subresource"]
		}
		a.verb[verb] += v
		if verb == "PUT" && labels["code"] == "409" {
			a.conflicts += v
		}
	}
	return a, nil
}

func (a apiCounts) minus(b apiCounts) apiCounts {
	d := apiCounts{verb: map[string]float64{}, conflicts: a.conflicts - b.conflicts}
	for k, v := range a.verb {
		d.verb[k] = v - b.verb[k]
	}
	return d
}

// cpuSeconds is a process's user and system CPU time from /proc.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// exporter serves every revision's request counter as Knative's
// queue-proxy did before OpenTelemetry (labels on the series), from one
// target, so that one Prometheus scrape covers thousands of revisions.
type exporter struct {
	srv      *http.Server
	addr     string
	requests *promclient.CounterVec
}

func startExporter() (*exporter, error) {
	reg := promclient.NewRegistry()
	e := &exporter{requests: promclient.NewCounterVec(promclient.CounterOpts{Name: "revision_request_count",
		Help: "The number of requests that are routed to queue-proxy"},
		[]string{"namespace_name", "revision_name", "response_code", "response_code_class"})}
	reg.MustRegister(e.requests)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.addr = l.Addr().String()
	e.srv = &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go func() { _ = e.srv.Serve(l) }()
	return e, nil
}

// serve records ok successful and failed 5xx requests on a revision.
func (e *exporter) serve(ns, rev string, ok, failed int) {
	e.requests.WithLabelValues(ns, rev, "200", "2xx").Add(float64(ok))
	e.requests.WithLabelValues(ns, rev, "500", "5xx").Add(float64(failed))
}

// broker stands in for the Broker between the functions' K_SINK and their
// Trigger: it accepts an event at once and delivers it, with retries, to
// the replicas in turn. Event types the functions do not take (the
// assessments they emit for others) are dropped and counted.
type broker struct {
	srv      *http.Server
	url      string
	mu       sync.Mutex
	replicas []*deliver.Client
	next     int
	wg       sync.WaitGroup
	sem      chan struct{}
	ctx      context.Context
	dropped  int
}

func startBroker(ctx context.Context, inflight int) (*broker, error) {
	b := &broker{ctx: ctx, sem: make(chan struct{}, inflight)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.url = "http://" + l.Addr().String()
	b.srv = &http.Server{Handler: b}
	go func() { _ = b.srv.Serve(l) }()
	return b, nil
}

// route sends events to these replicas from now on.
func (b *broker) route(urls []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.replicas = nil
	for _, u := range urls {
		b.replicas = append(b.replicas, deliver.NewClient(u))
	}
}

func (b *broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e := deliver.Event{ID: r.Header.Get("Ce-Id"), Source: r.Header.Get("Ce-Source"), Type: r.Header.Get("Ce-Type"),
		Subject: r.Header.Get("Ce-Subject"), ContentType: r.Header.Get("Content-Type"), Data: data}
	b.mu.Lock()
	accepted := false
	for _, t := range functions.InboundTypes {
		accepted = accepted || t == e.Type
	}
	if !accepted || len(b.replicas) == 0 {
		b.dropped++
		b.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	client := b.replicas[b.next%len(b.replicas)]
	b.next++
	b.wg.Add(1)
	b.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	go func() {
		defer b.wg.Done()
		b.sem <- struct{}{}
		defer func() { <-b.sem }()
		_, _, _ = client.Deliver(b.ctx, e)
	}()
}

// drain waits for every accepted event to be delivered.
func (b *broker) drain() { b.wg.Wait() }
