// Command demo is `make demo`: it starts the local stack (etcd,
// kube-apiserver, the Knative Serving controller and a data-plane
// stand-in, and the iter8-functions server), deploys revisions of a sample
// Service as a user would, sends the start event of an experiment, runs a
// traffic simulator against the Route until the experiment decides, and
// shows the experiment through kn and the kn-iter8 plugin.
//
//	go run ./test/demo [--kind abn|ab|canary|canary-bad|performance|performance-load] [--seed N] [--via direct|prometheus]
//
// --kind performance-load runs a performance test with no traffic but
// iter8's own load (load.go).
//
// --via direct (the default) sends each window to the functions as a
// metrics event. --via prometheus takes the path a cluster has: the
// traffic simulator serves requests on fake queue-proxy scrape targets, a
// real Prometheus (Debian's /usr/bin/prometheus) scrapes them, and a tick
// after each one-second window makes the functions' collector read it.
//
// It cleans up every process it started on exit and on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/stack"
)

var scenarios = map[string]string{
	"abn":         "abn-three.yaml",
	"ab":          "ab-conversion.yaml",
	"canary":      "canary-good.yaml",
	"canary-bad":  "canary-bad-errors.yaml",
	"performance": "performance-pass.yaml",
}

func main() {
	kind := flag.String("kind", "abn", "experiment kind: abn, ab, canary, canary-bad, performance or performance-load")
	seed := flag.Uint64("seed", 1, "seed of the traffic simulator")
	via := flag.String("via", "direct", "how metrics reach the functions: direct (metrics events) or prometheus (scraped, then collected on a tick)")
	flag.Parse()
	if err := run(*kind, *seed, *via); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) {
	fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(kind string, seed uint64, via string) error {
	if kind == "performance-load" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runLoad(ctx, time.Now())
	}
	file, ok := scenarios[kind]
	if !ok {
		return fmt.Errorf("unknown kind %q (want abn, ab, canary, canary-bad, performance or performance-load)", kind)
	}
	if via != "direct" && via != "prometheus" {
		return fmt.Errorf("unknown --via %q (want direct or prometheus)", via)
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	sc, err := simulate.LoadScenario(filepath.Join(root, "test", "scenarios", file))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()

	ns := "demo"
	x := stack.Experiment{Namespace: ns, Service: "shop", Scenario: sc, Seed: seed}
	opts := stack.Options{Logf: say, Broker: true, CronTicks: true}
	var prom *stack.PrometheusPath
	if via == "prometheus" {
		say("starting Prometheus and one queue-proxy scrape target per revision")
		if prom, err = stack.NewPrometheusPath(ctx, x, stack.PrometheusOptions{Logf: say}); err != nil {
			return err
		}
		defer prom.Stop()
		opts.Env = prom.Env()
		say("the functions collect from Prometheus on each tick: %s", strings.Join(opts.Env, " "))
	}
	s, down, err := up(ctx, opts, ns)
	if err != nil {
		return err
	}
	defer down()
	if err := s.Deploy(ctx, x); err != nil {
		return err
	}
	kn := knCommand(s)
	if kn != nil {
		show(kn("service", "describe", "shop", "-n", ns))
	}

	spec := x.Spec()
	say("sending %s: %s experiment, baseline %s, candidates %v (scenario %s)", "dev.iter8.experiment.start", spec.Kind, spec.Baseline, spec.Candidates, sc.Name)
	if prom != nil {
		// kn iter8 start --plan prints the plan on the direct path; here
		// the collector path starts the experiment itself.
		if plugin := pluginCommand(s); plugin != nil {
			if err := showPlan(plugin, x); err != nil {
				return err
			}
		}
		err = s.StartCollected(ctx, prom)
	} else {
		err = knStart(ctx, s, x)
	}
	if err != nil {
		return err
	}
	say("traffic simulator: %d requests per window, split as the Route's status.traffic says", sc.Traffic.RequestsPerInterval)
	if prom != nil {
		say("each window is a second of real time: served on the targets, scraped by Prometheus, then a %s tick", "dev.knative.sources.ping")
	}
	last := ""
	x.OnWindow = func(i int, routed map[string]int, rec store.Record) error {
		line := rec.Service.Annotations[store.AnnotationStatus]
		if line != last || i%10 == 0 {
			say("window %3d  %s%s", i+1, line, etaText(rec))
			last = line
		}
		return nil
	}
	var rec store.Record
	if prom != nil {
		rec, err = s.RunCollected(ctx, x, prom)
	} else {
		rec, err = s.Run(ctx, x)
	}
	if err != nil {
		return err
	}
	say("experiment %s: %s (%s)", rec.State.Phase, rec.State.Outcome, rec.State.Reason)
	if prom != nil {
		if err := exact(prom, rec); err != nil {
			return err
		}
	}
	if p := rec.State.Phase; p != experiment.PhaseCompleted {
		return fmt.Errorf("the experiment did not complete within %d windows", sc.Traffic.MaxIntervals)
	}

	fmt.Println()
	final := store.Split(rec.Service)
	say("final traffic (spec.traffic): %s", formatSplit(final, rec.State.Versions))
	if err := s.Cluster.WaitServiceTraffic(ctx, ns, x.Service, final); err != nil {
		return err
	}
	say("the Route serves it (status.traffic follows spec.traffic)")
	plugin := pluginCommand(s)
	if plugin != nil {
		show(plugin("describe", "shop", "-n", ns))
		report := filepath.Join(root, "out", "report-"+kind+".html")
		_ = os.MkdirAll(filepath.Dir(report), 0o755)
		if out, err := plugin("report", "shop", "-n", ns, "--output-file", report); err == nil {
			say("report written to %s", report)
		} else {
			say("report failed: %v\n%s", err, out)
		}
	}
	if kn != nil {
		show(kn("service", "describe", "shop", "-n", ns))
	}
	say("demo finished in %s", time.Since(began).Round(time.Second))
	return nil
}

// exact checks that the experiment holds exactly the requests the traffic
// simulator served through Prometheus.
func exact(prom *stack.PrometheusPath, rec store.Record) error {
	served := prom.Served()
	if diff := cmp.Diff(served, prom.Folded(rec), cmpopts.EquateApprox(1e-9, 0)); diff != "" {
		return fmt.Errorf("the experiment's data differs from what was served through Prometheus (-served +folded):\n%s", diff)
	}
	for _, rev := range slices.Sorted(maps.Keys(served)) {
		var reqs int64
		for _, t := range served[rev] {
			reqs = max(reqs, t.Trials, t.Count)
		}
		say("%s: %d requests served through Prometheus, exactly as many in the experiment's data", rev, reqs)
	}
	return nil
}

// up starts the local stack with opts and creates namespace ns; down
// stops every process it started.
func up(ctx context.Context, opts stack.Options, ns string) (s *stack.Stack, down func(), err error) {
	say("starting the local control plane: etcd, kube-apiserver, Knative Serving and Eventing; config/ installed as README says")
	if s, err = stack.Start(ctx, opts); err != nil {
		return nil, nil, err
	}
	down = func() {
		say("stopping every process the demo started")
		s.Stop()
	}
	if err := createNamespace(ctx, s, ns); err != nil {
		down()
		return nil, nil, err
	}
	return s, down, nil
}

func formatSplit(split map[string]int, order []string) string {
	var parts []string
	for _, v := range order {
		parts = append(parts, fmt.Sprintf("%s=%d%%", v, split[v]))
	}
	return strings.Join(parts, " ")
}

// knCommand runs the real kn CLI built into bin/, if there.
func knCommand(s *stack.Stack) func(args ...string) (string, error) {
	return binCommand(s, "kn")
}

// pluginCommand runs kn-iter8; through kn's plugin discovery when kn is
// built (kn finds kn-iter8 on PATH), else directly.
func pluginCommand(s *stack.Stack) func(args ...string) (string, error) {
	if _, err := os.Stat(filepath.Join(s.Cluster.Bin, "kn-iter8")); err != nil {
		return nil
	}
	if kn := knCommand(s); kn != nil {
		return func(args ...string) (string, error) { return kn(append([]string{"iter8"}, args...)...) }
	}
	return binCommand(s, "kn-iter8")
}

func binCommand(s *stack.Stack, name string) func(args ...string) (string, error) {
	path := filepath.Join(s.Cluster.Bin, name)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	return func(args ...string) (string, error) {
		cmd := exec.Command(path, append(args, "--kubeconfig", s.Cluster.Kubeconfig)...)
		cmd.Env = append(os.Environ(), "PATH="+s.Cluster.Bin+":"+os.Getenv("PATH"), "HOME="+os.TempDir())
		// Cluster hosts (the Broker's address) resolve through the stack's
		// proxy, as cluster DNS would inside the cluster.
		proxy, _ := s.Cluster.ProxyEnv()
		cmd.Env = append(cmd.Env, proxy...)
		out, err := cmd.CombinedOutput()
		return "$ " + strings.Join(append([]string{strings.TrimPrefix(name, "kn-")}, args...), " ") + "\n" + string(out), err
	}
}

func show(out string, err error) {
	fmt.Println()
	fmt.Println(strings.TrimRight(out, "\n"))
	if err != nil {
		fmt.Println("  (", err, ")")
	}
	fmt.Println()
}
