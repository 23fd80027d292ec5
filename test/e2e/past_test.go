package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/cmd/kn-iter8/commands"
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/stack"
)

// secondCanary runs the Service's next canary after x promoted shop-v2,
// leaving first in iter8.dev/past: a user deploys shop-v3, whose errors
// are canary-bad-errors' candidate's, and starts a canary of it against
// shop-v2. While it runs, `kn iter8 describe` must show the first canary
// as its ETA's prior, and an ETA; when it is rolled back, the Service must
// hold both canaries, the first unchanged and the second's final candidate
// data after it.
func secondCanary(ctx context.Context, t *testing.T, s *stack.Stack, x stack.Experiment, first experiment.Past) {
	t.Helper()
	bad, err := simulate.LoadScenario(filepath.Join(s.Cluster.Root, "test", "scenarios", "canary-bad-errors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The same truths, one version on: the promoted shop-v2 is now the
	// baseline, with the old baseline's rates.
	bad.Experiment.Baseline, bad.Experiment.Candidates = "v2", []string{"v3"}
	bad.Truth = map[string]map[string]simulate.Dist{"v2": bad.Truth["v1"], "v3": bad.Truth["v2"]}
	y := stack.Experiment{Namespace: x.Namespace, Service: x.Service, Scenario: bad, Seed: x.Seed + 1}
	if err := s.Cluster.DeployRevisions(ctx, y.Namespace, y.Service, stack.Image, "v2", "v3"); err != nil {
		t.Fatal(err)
	}
	outlook := plannedFromThePast(ctx, t, s, y)
	if err := s.StartExperiment(ctx, y); err != nil {
		t.Fatal(err)
	}
	described, eta := 0, ""
	y.OnWindow = func(i int, _ map[string]int, rec store.Record) error {
		if rec.State.Phase != experiment.PhaseRunning || described > 0 {
			return nil
		}
		d, err := describe(ctx, s, y)
		if err != nil {
			return err
		}
		described++
		if d.PastCanaries != 1 || d.PastIgnored != "" {
			return fmt.Errorf("window %d: describe shows %d past canaries (ignored: %q), want the first canary", i, d.PastCanaries, d.PastIgnored)
		}
		if d.ETA == nil {
			return fmt.Errorf("window %d: describe shows a running canary without an ETA", i)
		}
		eta = fmt.Sprintf("window %d: %s", i, d.ETAText)
		return nil
	}
	rec, err := s.Run(ctx, y)
	if err != nil {
		t.Fatal(err)
	}
	ended(t, "second canary", rec, events.OutcomeRolledBack, "", map[string]int{"shop-v2": 100})
	if described == 0 {
		t.Errorf("second canary: never described while running; it ended at iteration %d", rec.State.Iteration)
	}
	if rec.PastErr != nil || len(rec.Past) != 2 {
		t.Fatalf("annotation %s after two canaries: %d entries (%v), want 2", store.AnnotationPast, len(rec.Past), rec.PastErr)
	}
	if diff := cmp.Diff(first, rec.Past[0]); diff != "" {
		t.Errorf("the first canary's entry changed (-before +after):\n%s", diff)
	}
	t.Logf("second canary: planned %s; rolled back at iteration %d; its ETA with the first canary as prior at %s", outlook, rec.State.Iteration, eta)
	pastIsTheCandidate(t, store.Record{Service: rec.Service, Spec: rec.Spec, State: rec.State, Past: rec.Past[1:]})
}

// plannedFromThePast runs `kn iter8 plan -o json` for y against the API
// server before it starts, as a user would: the plan must read the first
// canary from the Service's iter8.dev/past and add the outlook of a
// candidate like it, with no warning. It returns the outlook's outcomes.
func plannedFromThePast(ctx context.Context, t *testing.T, s *stack.Stack, y stack.Experiment) string {
	t.Helper()
	file, err := stack.SpecFile(t.TempDir(), "second-canary-*.json", y.Spec())
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := commands.Run(ctx, commands.Env{Stdout: &out, Stderr: &errOut, Now: time.Now},
		append([]string{"plan", y.Service, "-n", y.Namespace, "-f", file, "-o", "json", "--kubeconfig", s.Cluster.Kubeconfig}, y.PlanFlags()...))
	if code != commands.ExitOK || errOut.Len() > 0 {
		t.Fatalf("kn iter8 plan: exit %d, stderr:\n%s", code, errOut.String())
	}
	var p plan.Plan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatalf("kn iter8 plan -o json: %v", err)
	}
	if p.Outlook == nil || p.Outlook.Candidates != 1 {
		t.Fatalf("kn iter8 plan: outlook %+v, want one made from the first canary", p.Outlook)
	}
	sum := 0.0
	for _, share := range p.Outlook.Outcomes {
		sum += share
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("kn iter8 plan: outlook outcomes %v sum to %v", p.Outlook.Outcomes, sum)
	}
	return fmt.Sprintf("%v", p.Outlook.Outcomes)
}
