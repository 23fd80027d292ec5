package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/cmd/kn-iter8/commands"
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
)

// knT0 is when the plugin tests' experiments start; knNow is the clock the
// in-process plugin reads, so that ages are stable.
var (
	knT0  = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	knNow = knT0.Add(47 * time.Minute)
)

// knSpec is the canary the plugin tests run on shop's two revisions.
func knSpec() events.ExperimentSpec {
	limit, rel := 0.02, 1.2
	return events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "shop-v1", Candidates: []string{"shop-v2"},
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio},
			{Name: "latency", Type: events.MetricMean, Unit: "ms"},
		},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: &limit}, {Metric: "latency", UpperLimitRelative: &rel}},
		Limits:     events.Limits{MinSamples: 5000},
	}.Defaulted()
}

// knWindow is window k of traffic on both versions: errors and latency in
// proportion to each version's share of requests.
func knWindow(st experiment.State, k int) events.MetricsObserved {
	obs := events.MetricsObserved{
		Window: events.Window{Start: events.Time{Time: knT0.Add(time.Duration(k) * 5 * time.Minute)},
			End: events.Time{Time: knT0.Add(time.Duration(k+1) * 5 * time.Minute)}},
		Versions: map[string]map[string]events.Observation{},
	}
	for i, v := range st.Versions {
		n := int64(10 * st.Traffic[v])
		errs := n/200 + int64(i+k%2)
		mean := 80 + 3*float64(i) + float64(k%3)
		sum, sq := mean*float64(n), float64(n)*(mean*mean+100)
		obs.Versions[v] = map[string]events.Observation{
			"errors":  {Successes: &errs, Trials: &n},
			"latency": {Count: &n, Sum: &sum, SumSquares: &sq},
		}
	}
	return obs
}

// knStep writes one engine step onto the Service through the store, as
// the functions do.
func knStep(ctx context.Context, t *testing.T, s *store.Store, ns, key string, f func(*store.Record) (experiment.State, experiment.Result, error)) {
	t.Helper()
	_, err := s.Update(ctx, ns, "shop", key, func(r store.Record) (*store.Change, error) {
		st, res, err := f(&r)
		if err != nil {
			return nil, err
		}
		spec := knSpec()
		ch := &store.Change{State: st, Traffic: res.Traffic, Status: experiment.Summary(spec, st)}
		if r.Spec == nil {
			ch.Spec = &spec
		}
		for _, o := range res.Emit {
			if a, ok := o.Data.(events.Assessed); ok {
				a.Service = "shop"
				ch.Assessment = &a
			}
		}
		return ch, nil
	})
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// knPlugin runs `kn iter8 args...` in process against the cluster.
type knPlugin struct {
	kubeconfig string
}

func (p knPlugin) run(ctx context.Context, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = commands.Run(ctx, commands.Env{Stdout: &out, Stderr: &errb, Now: func() time.Time { return knNow }},
		append(args, "--kubeconfig", p.kubeconfig))
	return out.String(), errb.String(), code
}

// TestKnPluginAgainstTheAPIServer deploys shop's two revisions with the
// real Knative controller, runs a canary through the engine and the store
// as the functions would, and reads it back through the plugin's own
// commands: describe (table, JSON), list, report, the message for a
// Service without an experiment, and watch following the experiment to
// its end over the real watch API.
func TestKnPluginAgainstTheAPIServer(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.DeployRevisions(ctx, ns, "shop", image, "v1", "v2"); err != nil {
		t.Fatal(err)
	}
	sv := servingclient.NewForConfigOrDie(c.Config)
	s := store.New(sv.ServingV1())
	knStep(ctx, t, s, ns, "start", func(*store.Record) (experiment.State, experiment.Result, error) {
		return experiment.New().Start(knSpec(), "knplugin-1", knT0)
	})
	for k := range 3 {
		knStep(ctx, t, s, ns, fmt.Sprintf("window-%d", k), func(r *store.Record) (experiment.State, experiment.Result, error) {
			return experiment.New().Observe(*r.Spec, *r.State, knWindow(*r.State, k), knT0.Add(time.Duration(k+1)*5*time.Minute))
		})
	}
	rec, err := s.Get(ctx, ns, "shop")
	if err != nil {
		t.Fatal(err)
	}
	live := store.Split(rec.Service)
	p := knPlugin{kubeconfig: c.Kubeconfig}

	out, errOut, code := p.run(ctx, "describe", "shop", "-n", ns)
	if code != commands.ExitOK {
		t.Fatalf("describe: exit %d: %s", code, errOut)
	}
	t.Logf("kn iter8 describe shop -n %s:\n%s", ns, out)
	for _, want := range []string{
		"Service:     " + ns + "/shop\n",
		"Phase:       Running for 47m\n",
		"Iteration:   3\n",
		"Decision:    " + rec.State.Last.Decision + "\n",
		fmt.Sprintf("shop-v1  baseline   %d%%", live["shop-v1"]),
		fmt.Sprintf("shop-v2  candidate  %d%%", live["shop-v2"]),
		"latency  ",
		// The ETA: the engine continued from the stored state (plan.Estimate).
		"\nETA:         ~",
		"to a decision (median ",
		"; 10–90%: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q", want)
		}
	}

	out, errOut, code = p.run(ctx, "describe", "shop", "-n", ns, "-o", "json")
	if code != commands.ExitOK {
		t.Fatalf("describe -o json: exit %d: %s", code, errOut)
	}
	var d present.Description
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	gotTraffic := map[string]int{}
	for _, v := range d.Versions {
		gotTraffic[v.Version] = v.Traffic
		if v.ProbFeasible == nil || len(v.Metrics) != 2 || v.Metrics[0].Mean == nil {
			t.Errorf("%s: no assessment shown: %+v", v.Version, v)
		}
	}
	if diff := cmp.Diff(live, gotTraffic); diff != "" {
		t.Errorf("traffic shown is not the Service's spec.traffic (-service +shown):\n%s", diff)
	}
	if d.ETA == nil || d.ETA.Iteration != 3 || !(d.ETA.Point > 0) || d.ETA.Point > d.ETA.Median {
		t.Errorf("describe -o json: eta %+v, want one from iteration 3", d.ETA)
	}

	out, errOut, code = p.run(ctx, "list", "-n", ns)
	if code != commands.ExitOK || !strings.Contains(out, "shop     canary  Running") {
		t.Errorf("list: exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
	out, _, code = p.run(ctx, "list", "-A", "--phase", "running", "-o", "json")
	var rows []present.ListRow
	if err := json.Unmarshal([]byte(out), &rows); code != commands.ExitOK || err != nil {
		t.Fatalf("list -A: exit %d, %v", code, err)
	}
	found := false
	for _, r := range rows {
		found = found || r.Namespace == ns && r.Service == "shop" && r.Iteration == 3
	}
	if !found {
		t.Errorf("list -A does not show %s/shop: %+v", ns, rows)
	}

	page := filepath.Join(t.TempDir(), "shop.html")
	if _, errOut, code = p.run(ctx, "report", "shop", "-n", ns, "--output-file", page); code != commands.ExitOK {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"Posterior of errors", "Posterior of latency", "Traffic over time", "Probability of meeting the objectives over time"} {
		if !bytes.Contains(html, []byte(`<svg class="plot" role="img" aria-label="`+label+`"`)) {
			t.Errorf("report lacks the plot %q", label)
		}
	}

	plain := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}}}}}}
	if _, err := sv.ServingV1().Services(ns).Create(ctx, plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = p.run(ctx, "describe", "plain", "-n", ns)
	if want := fmt.Sprintf("service %s/plain has no experiment; start one with: kn iter8 start plain -n %s -f experiment.yaml", ns, ns); code != commands.ExitError || !strings.Contains(errOut, want) {
		t.Errorf("describe plain: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}

	// watch follows the experiment over the watch API until the promote
	// completes it.
	var wout, werr bytes.Buffer
	var mu sync.Mutex
	done := make(chan int, 1)
	go func() {
		code := commands.Run(ctx, commands.Env{Stdout: lockedWriter{&mu, &wout}, Stderr: lockedWriter{&mu, &werr}, Now: func() time.Time { return knNow }},
			[]string{"watch", "shop", "-n", ns, "--timeout", "90s", "--kubeconfig", c.Kubeconfig})
		done <- code
	}()
	waitOutput(t, &mu, &wout, "Running · canary · iteration 3")
	knStep(ctx, t, s, ns, "promote", func(r *store.Record) (experiment.State, experiment.Result, error) {
		return experiment.New().Control(*r.Spec, *r.State, events.Control{Action: events.ActionPromote, Version: "shop-v2"}, knNow)
	})
	select {
	case code := <-done:
		mu.Lock()
		defer mu.Unlock()
		// The promote ended the canary, so the store remembered its
		// candidate, and the final description's longer label for it
		// widens the header's column.
		out := wout.String()
		if code != commands.ExitOK || !strings.Contains(out, "Phase:          Completed (promoted shop-v2)") ||
			!strings.Contains(out, "Past canaries:  1 (prior of the next canary's ETA)") {
			t.Errorf("watch: exit %d\nstdout:\n%s\nstderr:\n%s", code, wout.String(), werr.String())
		}
	case <-ctx.Done():
		t.Fatal("watch did not end when the experiment completed")
	}
}

// TestKnPluginDiscoveredByKn builds kn-iter8 and runs it the way users do,
// as `kn iter8 ...` with the real kn finding it on the PATH.
func TestKnPluginDiscoveredByKn(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "kn-iter8"), "./cmd/kn-iter8")
	build.Dir = c.Root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kn-iter8: %v\n%s", err, out)
	}
	sv := servingclient.NewForConfigOrDie(c.Config)
	plain := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}}}}}}
	if _, err := sv.ServingV1().Services(ns).Create(ctx, plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kn := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "kn"), args...)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
			"KUBECONFIG="+c.Kubeconfig, "HOME="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := kn("plugin", "list")
	if err != nil || !strings.Contains(out, "kn-iter8") {
		t.Fatalf("kn plugin list does not find kn-iter8: %v\n%s", err, out)
	}
	out, err = kn("iter8", "list", "-n", ns)
	if err != nil || !strings.Contains(out, "No experiments found in namespace "+ns) {
		t.Errorf("kn iter8 list: %v\n%s", err, out)
	}
	out, err = kn("iter8", "describe", "shop", "-n", ns)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != commands.ExitError ||
		!strings.Contains(out, "service "+ns+"/shop has no experiment; start one with: kn iter8 start shop -n "+ns+" -f experiment.yaml") {
		t.Errorf("kn iter8 describe on a Service without an experiment: %v\n%s", err, out)
	}
	// kn's conventions: a version command, shell completion, kn's global
	// flags (kn hands them on), and kn's exit code 1 for every failure,
	// although kn-iter8 alone exits 2 on a usage error.
	out, err = kn("iter8", "version")
	if err != nil || !strings.Contains(out, "Version:") || !strings.Contains(out, "Go:           go1.") {
		t.Errorf("kn iter8 version: %v\n%s", err, out)
	}
	out, err = kn("iter8", "completion", "bash")
	if err != nil || !strings.Contains(out, "complete -o default -F __start_kn-iter8 kn-iter8") {
		t.Errorf("kn iter8 completion bash: %v\n%.500s", err, out)
	}
	out, err = kn("iter8", "list", "-n", ns, "--no-log-http", "--config", filepath.Join(dir, "config.yaml"))
	if err != nil || !strings.Contains(out, "No experiments found") {
		t.Errorf("kn iter8 list with kn's global flags: %v\n%s", err, out)
	}
	out, err = kn("iter8", "describe")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != commands.ExitError || !strings.Contains(out, "requires the name of a Knative Service") {
		t.Errorf("kn iter8 describe without a Service: %v (want kn's exit code 1)\n%s", err, out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func waitOutput(t *testing.T, mu *sync.Mutex, b *bytes.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := b.String()
		mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q:\n%s", want, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
