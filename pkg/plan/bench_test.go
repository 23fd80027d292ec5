package plan

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
)

// BenchmarkPlanREADMEABN plans README's abn spec (three versions, ratio
// metrics and a p95 latency, whose assessment draws Dirichlet samples) as
// `kn iter8 plan shop -f abn.yaml --rate 20 --baseline
// conversion=0.1,errors=0.002,latency-p95=120` does (seed 1), on one
// worker: its CPU time, the cost units it simulated and its runs
// (docs/planning.md quotes them).
func BenchmarkPlanREADMEABN(b *testing.B) {
	spec, err := events.ParseSpec([]byte(`{"kind":"abn","baseline":"shop-v1","candidates":["shop-v2","shop-v3"],
	  "metrics":[{"name":"errors","type":"ratio"},{"name":"latency-p95","type":"quantile","quantile":0.95,"unit":"ms"},
	    {"name":"conversion","type":"ratio"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01},{"metric":"latency-p95","upperLimit":250}],
	  "reward":{"metric":"conversion","direction":"maximize"},"confidence":0.95}`))
	if err != nil {
		b.Fatal(err)
	}
	a := Assumptions{Rate: 20, Values: map[string]map[string]float64{
		"shop-v1": {"conversion": 0.1, "errors": 0.002, "latency-p95": 120}}}
	var p Plan
	cpu := cpuTime()
	for b.Loop() {
		if p, err = Make(spec, a, Options{Seed: 1, Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(p.units, "units/op")
	b.ReportMetric(float64(p.Runs), "runs")
}

// BenchmarkWindowCost calibrates the cost units (budget.go): the CPU of
// one engine window of each cost spec's expected case (one-minute windows,
// 4 seeded runs on one worker, as `go test -bench Window ./pkg/simulate`
// measures its two specs), over the units windowCost gives it: cpu-ns/unit
// (docs/planning.md quotes it).
func BenchmarkWindowCost(b *testing.B) {
	for _, c := range costSpecs {
		b.Run(c.name, func(b *testing.B) {
			sc, g := expectedCase(b, c.name)
			windows := 0
			cpu := cpuTime()
			for b.Loop() {
				rs, err := simulate.RunAll(sc, simulate.Options{Runs: 4, Seed: 1, Workers: 1, Interval: g.window})
				if err != nil {
					b.Fatal(err)
				}
				windows += windowsOf(rs)
			}
			ns := float64((cpuTime() - cpu).Nanoseconds()) / float64(windows)
			b.ReportMetric(ns, "cpu-ns/window")
			b.ReportMetric(windowCost(sc), "units/window")
			b.ReportMetric(ns/windowCost(sc), "cpu-ns/unit")
		})
	}
}

// BenchmarkPlanSpecs plans each cost spec (seed 1) on one worker: its CPU
// time, the cost units it simulated and its runs (docs/planning.md quotes
// them). README's abn spec is BenchmarkPlanREADMEABN.
func BenchmarkPlanSpecs(b *testing.B) {
	for _, c := range costSpecs {
		if c.name == "abn3-readme" {
			continue
		}
		b.Run(c.name, func(b *testing.B) {
			spec, a := costSpecNamed(b, c.name)
			var p Plan
			cpu := cpuTime()
			for b.Loop() {
				var err error
				if p, err = Make(spec, a, Options{Seed: 1, Workers: 1}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
			b.ReportMetric(p.units, "units/op")
			b.ReportMetric(float64(p.Runs), "runs")
		})
	}
}

// BenchmarkETAABNThree is the ETA describe shows for abn-three (three
// versions, ratio and mean metrics) after its fourth window, on one worker:
// its CPU time (docs/planning.md quotes it).
func BenchmarkETAABNThree(b *testing.B) {
	s, err := simulate.LoadScenario(filepath.Join("..", "..", "test", "scenarios", "abn-three.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	// The state after window 4 of the scenario's first run (it does not
	// stop there: the ETA continues it).
	var st *experiment.State
	if _, err := simulate.RunAll(s, simulate.Options{Runs: 1, Seed: 1, Workers: 1, OnState: func(_ int, at experiment.State) {
		if at.Iteration == 4 {
			st = &at
		}
	}}); err != nil || st == nil {
		b.Fatalf("no state at window 4: %v", err)
	}
	cpu := cpuTime()
	for b.Loop() {
		if _, err := Estimate(s.Experiment, *st, ETAOptions{Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// reportCPU reports cpu-ns/op, the process's CPU time since cpu0 per
// iteration: on a shared, loaded machine the wall time (ns/op) measures
// the load, the CPU time the code.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPlanCanaryOutlook plans canary-bad-errors' spec at its rate on
// one worker without a past and with the Service's last eight canaries
// (pastEight), whose outlook spends up to OutlookBudget more: the CPU the
// outlook adds to `kn iter8 plan` (docs/planning.md).
func BenchmarkPlanCanaryOutlook(b *testing.B) {
	s, err := simulate.LoadScenario(filepath.Join("..", "..", "test", "scenarios", "canary-bad-errors.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var past []experiment.Past
	for i, c := range pastEight {
		past = append(past, experiment.Past{ID: fmt.Sprint(i), Ratios: map[string]experiment.Count{"errors": c}})
	}
	a := Assumptions{Rate: float64(s.Traffic.RequestsPerInterval) / simulate.Interval.Seconds(),
		Values: map[string]map[string]float64{"v1": {"errors": 0.002, "latency": 57}}}
	for _, tc := range []struct {
		name string
		past []experiment.Past
	}{{"no-past", nil}, {"eight-past", past}} {
		b.Run(tc.name, func(b *testing.B) {
			a := a
			a.Past = tc.past
			var p Plan
			cpu := cpuTime()
			for b.Loop() {
				if p, err = Make(s.Experiment, a, Options{Seed: 1, Workers: 1}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
			b.ReportMetric(p.units, "units/op")
		})
	}
}
