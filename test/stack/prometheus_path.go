package stack

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
	promserver "github.com/iter8-knative/iter8/test/prometheus"
)

// PrometheusPath is the metrics path a cluster has: the traffic simulator
// serves each interval's requests on fake queue-proxy targets (one per
// revision, see pod), a real Prometheus scrapes them, and the functions'
// collector reads the windows from Prometheus on each PingSource tick.
// Start the functions with Env, start the experiment with StartCollected
// and drive it with RunCollected.
type PrometheusPath struct {
	Prometheus *promserver.Server

	x      Experiment
	spec   events.ExperimentSpec
	pods   map[string]*pod
	delay  time.Duration
	copies int
	// latency is the index of the spec metric whose truth request
	// durations are drawn from: the first built-in latency metric, since
	// they all read the same histogram; -1 when there is none.
	latency int
	src     rand.Source
	served  Served
	logf    func(string, ...any)
}

// PrometheusOptions configure NewPrometheusPath.
type PrometheusOptions struct {
	Logf func(format string, args ...any)
	// Delay is the collector's ITER8_PROMETHEUS_DELAY; promserver.ScrapeInterval
	// when zero, enough for the scrape timeout, as the default 10s is for
	// Prometheus's default scrape timeout.
	Delay time.Duration
	// Copies is how many copies of each tick are delivered at once, as an
	// at-least-once delivery may; one when zero.
	Copies int
	// Before is how many windows of the baseline alone the targets serve
	// before the start, as production did before an experiment: a
	// baseline's history for the ETA to read. It is not in Served.
	Before int
}

// Tally is what was served of one metric of one revision over a run:
// successes and trials of a ratio metric; the count and, for a mean, the
// sum of the values of a mean or quantile metric.
type Tally struct {
	Successes, Trials int64
	Count             int64
	Sum               float64
}

// Served is revision -> metric -> Tally.
type Served map[string]map[string]Tally

// NewPrometheusPath starts one target per revision of x and a Prometheus
// scraping them. The targets serve nothing until RunCollected.
func NewPrometheusPath(ctx context.Context, x Experiment, o PrometheusOptions) (*PrometheusPath, error) {
	p := &PrometheusPath{x: x, pods: map[string]*pod{}, delay: o.Delay, copies: max(o.Copies, 1), latency: -1, served: Served{}, logf: o.Logf}
	if p.delay == 0 {
		p.delay = promserver.ScrapeInterval
	}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	p.src = rand.NewPCG(x.Seed, x.Seed^0x5eed1a7e9c7)
	spec, ratios, means, err := collectedSpec(x)
	if err != nil {
		return nil, err
	}
	p.spec = spec
	for j, m := range spec.Metrics {
		if collector.SourceOf(m) == collector.SourceLatency && p.latency < 0 {
			p.latency = j
		}
	}
	var targets []string
	for _, v := range x.Scenario.Experiment.Versions() {
		rev := x.Revision(v)
		pd, err := newPod(x.Namespace, x.Service, rev, ratios, means)
		if err != nil {
			p.Stop()
			return nil, fmt.Errorf("target of revision %s: %w", rev, err)
		}
		p.pods[rev] = pd
		targets = append(targets, pd.addr)
	}
	if p.Prometheus, err = promserver.Start(ctx, targets); err != nil {
		p.Stop()
		return nil, err
	}
	if p.logf != nil {
		p.logf("prometheus: ready at %s, scraping %d targets every %s", p.Prometheus.URL(), len(targets), promserver.ScrapeInterval)
	}
	if err := p.serveBefore(ctx, o.Before); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// serveBefore serves windows of the baseline alone and waits until
// Prometheus has scraped them, so that they lie before the start; they
// are then dropped from Served, which counts the experiment's requests.
func (p *PrometheusPath) serveBefore(ctx context.Context, windows int) error {
	if windows <= 0 {
		return nil
	}
	gen, err := simulate.NewGenerator(p.x.Scenario, p.x.Seed^0xbef0)
	if err != nil {
		return err
	}
	baseline := p.x.Scenario.Experiment.Baseline
	now := time.Now()
	for k := range windows {
		from := now.Add(time.Duration(k-windows) * time.Second)
		p.serve(gen.Window(from, from.Add(time.Second), p.x.Scenario.Traffic.RequestsPerInterval, map[string]int{baseline: 100}))
	}
	if err := p.Prometheus.Settle(ctx, time.Now()); err != nil {
		return fmt.Errorf("serving the baseline before the start: %w", err)
	}
	p.served = Served{}
	return nil
}

// Env is the functions' environment that turns the collector on against
// this Prometheus (stack.Options.Env).
func (p *PrometheusPath) Env() []string {
	return []string{
		collector.EnvURL + "=" + p.Prometheus.URL(),
		collector.EnvPreset + "=knative-otel",
		collector.EnvDelay + "=" + p.delay.String(),
	}
}

// Spec is the experiment's spec with a query template for every metric
// the collector has no built-in for.
func (p *PrometheusPath) Spec() events.ExperimentSpec { return p.spec }

// Served returns what the simulator has served so far, by revision.
func (p *PrometheusPath) Served() Served {
	out := Served{}
	for rev, ms := range p.served {
		out[rev] = maps.Clone(ms)
	}
	return out
}

// Folded reads rec's accumulated data in the shape of Served, so that a
// test can check that what reached the experiment through Prometheus is
// exactly what was served.
func (p *PrometheusPath) Folded(rec store.Record) Served {
	out := Served{}
	if rec.State == nil {
		return out
	}
	for i, rev := range rec.State.Versions {
		for j, m := range p.spec.Metrics {
			if i >= len(rec.State.Data) || j >= len(rec.State.Data[i]) {
				continue
			}
			d := rec.State.Data[i][j]
			var t Tally
			switch m.Type {
			case events.MetricRatio:
				t = Tally{Successes: int64(d.Successes), Trials: int64(d.Trials)}
			case events.MetricMean:
				t = Tally{Count: int64(d.Count), Sum: d.Mu * d.Count}
			case events.MetricQuantile:
				for _, c := range d.Counts {
					t.Count += int64(c)
				}
			}
			if t == (Tally{}) {
				continue
			}
			if out[rev] == nil {
				out[rev] = map[string]Tally{}
			}
			out[rev][m.Name] = t
		}
	}
	return out
}

// Stop stops Prometheus and the targets.
func (p *PrometheusPath) Stop() {
	if p.Prometheus != nil {
		p.Prometheus.Close()
	}
	for _, pd := range p.pods {
		pd.stop()
	}
}

// collectedSpec is x's spec with query templates for the metrics that are
// not built in, and the names of those ratio and mean metrics.
func collectedSpec(x Experiment) (spec events.ExperimentSpec, ratios, means []string, err error) {
	spec = x.Spec()
	spec.Metrics = slices.Clone(spec.Metrics)
	for j, m := range spec.Metrics {
		if collector.SourceOf(m) != "" {
			continue
		}
		switch m.Type {
		case events.MetricRatio:
			spec.Metrics[j].Query = stat(collector.StatSuccesses, increment(appMetric(x.Service, m.Name, "_total"))) +
				" or " + stat(collector.StatTrials, increment(metricIdent(x.Service)+"_requests_total"))
			ratios = append(ratios, m.Name)
		case events.MetricMean:
			spec.Metrics[j].Query = stat(collector.StatCount, increment(appMetric(x.Service, m.Name, "_count"))) +
				" or " + stat(collector.StatSum, increment(appMetric(x.Service, m.Name, "_sum"))) +
				" or " + stat(collector.StatSumSquares, increment(appMetric(x.Service, m.Name, "_sum_squares")))
			means = append(means, m.Name)
		default:
			return spec, nil, nil, fmt.Errorf("scenario %s: metric %q: the Prometheus path serves custom ratio and mean metrics only", x.Scenario.Name, m.Name)
		}
	}
	return spec, ratios, means, nil
}

// increment is the PromQL of a counter's exact increase over the window
// that ends at the evaluation time: its last value then less its last
// value {{.Window}} earlier, the window's start, or 0 for a series that
// is new in the window. Unlike increase(), which extrapolates, consecutive
// windows add up to the counter. The hour-long range only needs to reach
// back to the series' previous sample.
func increment(metric string) string {
	sel := metric + `{namespace="{{.Namespace}}",revision="{{.Revision}}"}`
	end := "last_over_time(" + sel + "[1h])"
	return "(" + end + " - (last_over_time(" + sel + "[1h] offset {{.Window}}) or " + end + " * 0))"
}

// stat labels expr's sum as the statistic name (the iter8_stat convention).
func stat(name, expr string) string {
	return fmt.Sprintf(`label_replace(sum(%s), %q, %q, "", "")`, expr, collector.StatLabel, name)
}

// serve records one interval's window of draws on the targets and in the
// tally: the split and each custom metric's aggregates come from the
// generator's window w; request durations are drawn one by one from the
// latency metric's truth, since a histogram needs each value.
func (p *PrometheusPath) serve(w events.MetricsObserved) {
	x := p.x
	for _, v := range x.Scenario.Experiment.Versions() {
		obs, ok := w.Versions[v]
		if !ok {
			continue
		}
		n := requests(obs)
		if n == 0 {
			continue
		}
		rev := x.Revision(v)
		tally := p.served[rev]
		if tally == nil {
			tally = map[string]Tally{}
			p.served[rev] = tally
		}
		s := served{seconds: p.durations(v, n), ratios: map[string]int64{}, means: map[string][3]float64{}}
		for _, m := range p.spec.Metrics {
			o := obs[m.Name]
			t := tally[m.Name]
			switch collector.SourceOf(m) {
			case collector.SourceErrors:
				s.failed = *o.Successes
				t.Successes, t.Trials = t.Successes+s.failed, t.Trials+n
			case collector.SourceLatency:
				t.Count += n
				if m.Type == events.MetricMean {
					scale := unitSeconds(m.Unit)
					for _, d := range s.seconds {
						t.Sum += d / scale
					}
				}
			case collector.SourceQuery:
				if m.Type == events.MetricRatio {
					s.ratios[m.Name] = *o.Successes
					t.Successes, t.Trials = t.Successes+*o.Successes, t.Trials+n
				} else {
					s.means[m.Name] = [3]float64{float64(*o.Count), *o.Sum, *o.SumSquares}
					t.Count, t.Sum = t.Count+*o.Count, t.Sum+*o.Sum
				}
			}
			tally[m.Name] = t
		}
		p.pods[rev].serve(s)
	}
}

// requests is how many requests a version served in a window: every
// metric of the scenario is drawn once per request.
func requests(obs map[string]events.Observation) int64 {
	for _, o := range obs {
		switch {
		case o.Trials != nil:
			return *o.Trials
		case o.Count != nil:
			return *o.Count
		}
		var n int64
		for _, c := range o.Counts {
			n += c
		}
		return n
	}
	return 0
}

// durations draws n request durations in seconds for version v. Without a
// built-in latency metric every request takes 50ms: the queue-proxy still
// times it, and only the count matters then.
func (p *PrometheusPath) durations(v string, n int64) []float64 {
	out := make([]float64, n)
	if p.latency < 0 {
		for i := range out {
			out[i] = 0.05
		}
		return out
	}
	m := p.spec.Metrics[p.latency]
	d := p.x.Scenario.Truth[v][m.Name]
	var r interface{ Rand() float64 }
	switch {
	case d.LogNormal != nil:
		r = distuv.LogNormal{Mu: *d.LogNormal.Mu, Sigma: *d.LogNormal.Sigma, Src: p.src}
	case d.Normal != nil:
		r = distuv.Normal{Mu: *d.Normal.Mean, Sigma: *d.Normal.SD, Src: p.src}
	case d.Exponential != nil:
		r = distuv.Exponential{Rate: 1 / *d.Exponential.Mean, Src: p.src}
	default:
		r = distuv.Bernoulli{P: *d.Bernoulli, Src: p.src}
	}
	scale := unitSeconds(m.Unit)
	for i := range out {
		// A duration is never negative, whatever a normal truth says.
		out[i] = math.Max(0, r.Rand()) * scale
	}
	return out
}

// unitSeconds is a latency unit in seconds; no unit means the queue-proxy's
// own, seconds.
func unitSeconds(unit string) float64 {
	switch unit {
	case "ms":
		return 1e-3
	case "us":
		return 1e-6
	}
	return 1
}
