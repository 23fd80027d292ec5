// Command loadbench measures how closely the built-in load generator
// (pkg/load) keeps to the requested rate, and the highest rate at which it
// stays within 5% on this machine, and writes the "load" section of
// docs/benchmarks.md (make bench runs it).
//
// Each burst goes the way the functions' load goes on the local stack:
// through a forward proxy that stands in for cluster routing (as
// test/cluster's does) to a real HTTP server on loopback that answers
// after a fixed delay. The server and proxy share the machine with the
// generator, so the ceiling measured is the whole loop's, a lower bound
// on the generator's own.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/load"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

func main() {
	out := flag.String("out", "docs/benchmarks.md", "the doc whose load section to write")
	runs := flag.Int("runs", 3, "bursts per rate")
	burst := flag.Duration("burst", 3*time.Second, "length of each burst")
	delay := flag.Duration("delay", 2*time.Millisecond, "the server's answer delay")
	rates := flag.String("rates", "50,100,200,400,800,1600,3200", "requested rates, requests/s")
	flag.Parse()
	var rs []float64
	for _, f := range strings.Split(*rates, ",") {
		var r float64
		if _, err := fmt.Sscan(f, &r); err != nil {
			log.Fatalf("rates: %v", err)
		}
		rs = append(rs, r)
	}
	tag, proxy, stop, err := loop(*delay)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	g, err := load.New(load.WithMaxRate(1e6), load.WithMaxBurst(time.Minute), load.WithTransport(func(n int) http.RoundTripper {
		return &http.Transport{Proxy: http.ProxyURL(proxy), MaxConnsPerHost: n, MaxIdleConnsPerHost: n}
	}))
	if err != nil {
		log.Fatal(err)
	}
	var rows []row
	for _, r := range rs {
		rw := row{requested: r}
		for range *runs {
			spec := events.ExperimentSpec{Kind: events.KindPerformance, Baseline: "shop-v1",
				Metrics: []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}},
				Load:    &events.LoadSpec{Rate: r, Concurrency: 200, Duration: &events.Duration{Duration: *burst}}}
			b, err := g.Run(context.Background(), load.Target{Namespace: "bench", Service: "shop", Spec: spec, Version: "shop-v1", TagURL: tag})
			if err != nil {
				log.Fatalf("rate %v: %v", r, err)
			}
			rw.achieved = append(rw.achieved, b.Stats.Achieved())
			rw.errors += b.Stats.Errors
			rw.sent += b.Stats.Sent
		}
		log.Printf("rate %v: achieved %v", r, rw.achieved)
		rows = append(rows, rw)
	}
	if err := gendoc.ReplaceFile(*out, "load", render(rows, *runs, *burst, *delay)); err != nil {
		log.Fatal(err)
	}
}

type row struct {
	requested    float64
	achieved     []float64
	sent, errors int64
}

func (r row) worst() float64 { return slices.Min(r.achieved) }
func (r row) within() bool {
	return r.worst() >= 0.95*r.requested && slices.Max(r.achieved) <= 1.05*r.requested
}

func render(rows []row, runs int, burst, delay time.Duration) string {
	var b strings.Builder
	ceiling := 0.0
	for _, r := range rows {
		if !r.within() {
			break
		}
		ceiling = r.requested
	}
	loadavg, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "### Load generator: achieved against requested rate\n\n")
	fmt.Fprintf(&b, "`go run ./test/loadbench` (make bench): %d bursts of %s per rate from pkg/load (vegeta's constant pacer, up to 200 requests in flight) "+
		"through a forward proxy standing in for cluster routing to a loopback server answering after %s; %d CPUs, load average at the end %s. "+
		"Achieved is requests sent over the span they were sent in (pkg/load.Stats.Achieved), the figure describe and the report show.\n\n",
		runs, burst, delay, runtime.NumCPU(), strings.Join(strings.Fields(string(loadavg))[:min(3, len(strings.Fields(string(loadavg))))], " "))
	fmt.Fprintf(&b, "| requested (req/s) | achieved per burst (req/s) | worst / requested | errors | within 5%% |\n|---:|---|---:|---:|:---:|\n")
	for _, r := range rows {
		var a []string
		for _, v := range r.achieved {
			a = append(a, fmt.Sprintf("%.1f", v))
		}
		ok := "yes"
		if !r.within() {
			ok = "**no**"
		}
		fmt.Fprintf(&b, "| %.0f | %s | %.3f | %d of %d | %s |\n", r.requested, strings.Join(a, ", "), r.worst()/r.requested, r.errors, r.sent, ok)
	}
	fmt.Fprintf(&b, "\nCeiling measured: **%.0f requests/s** (the highest rate whose every burst was within 5%% of the request, all lower rates too). "+
		"The functions cap every burst at ITER8_LOAD_MAX_RATE (default %.0f requests/s); a burst below 95%% of its rate is reported as behind in describe and the report. "+
		"With a few bursts per rate on a shared 2-core machine, treat the ceiling as what this machine gave at the time, not a constant; above it the generator falls behind and says so.\n", ceiling, load.DefaultMaxRate)
	return b.String()
}

// loop starts the loopback server and the forward proxy and returns the
// tag URL the server answers to and the proxy's URL.
func loop(delay time.Duration) (string, *url.URL, func(), error) {
	srvL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(delay)
		_, _ = w.Write([]byte("ok\n"))
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(srvL) }()
	target := srvL.Addr().String()
	pxL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", target, pr.In.Host
		},
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 200},
	}
	px := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = px.Serve(pxL) }()
	pu, _ := url.Parse("http://" + pxL.Addr().String())
	return "http://v1-shop.bench.svc.cluster.local", pu, func() { _ = srv.Close(); _ = px.Close() }, nil
}
