package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/cmd/kn-iter8/commands"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/stack"
)

// describe runs the kn plugin's `describe -o json` as a user would.
func describe(ctx context.Context, s *stack.Stack, x stack.Experiment) (present.Description, error) {
	var out, errOut bytes.Buffer
	code := commands.Run(ctx, commands.Env{Stdout: &out, Stderr: &errOut, Now: time.Now},
		[]string{"describe", x.Service, "-n", x.Namespace, "-o", "json", "--kubeconfig", s.Cluster.Kubeconfig})
	if code != commands.ExitOK {
		return present.Description{}, fmt.Errorf("kn iter8 describe: exit %d: %s", code, errOut.String())
	}
	var d present.Description
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		return d, fmt.Errorf("kn iter8 describe -o json: %w", err)
	}
	return d, nil
}

// describedMatches runs the kn plugin's `describe -o json` against the API
// server, as a user would between two windows, and checks that the traffic
// it shows is the Service's spec.traffic and its phase the state's.
func describedMatches(ctx context.Context, s *stack.Stack, x stack.Experiment, rec store.Record) error {
	d, err := describe(ctx, s, x)
	if err != nil {
		return err
	}
	shown := map[string]int{}
	for _, v := range d.Versions {
		shown[v.Version] = v.Traffic
	}
	want := map[string]int{}
	for _, v := range rec.State.Versions {
		want[v] = store.Split(rec.Service)[v]
	}
	if diff := cmp.Diff(want, shown); diff != "" {
		return fmt.Errorf("kn iter8 describe shows other traffic than the Service's (-service +shown):\n%s", diff)
	}
	if d.Phase != string(rec.State.Phase) {
		return fmt.Errorf("kn iter8 describe shows phase %q, the state says %q", d.Phase, rec.State.Phase)
	}
	return nil
}

// describedWithHistory runs `describe -o json --prometheus URL` on a
// running canary, as a user would: its ETA reads the baseline's hour
// before the start from the real Prometheus with the collector's queries.
// The read must succeed and find the baseline's series (no warning that
// the ETA goes without the history, or that Prometheus has no data), and
// the ETA must be shown. It returns what describe printed on stderr.
func describedWithHistory(ctx context.Context, s *stack.Stack, x stack.Experiment, prometheus string) (string, error) {
	var out, errOut bytes.Buffer
	code := commands.Run(ctx, commands.Env{Stdout: &out, Stderr: &errOut, Now: time.Now},
		[]string{"describe", x.Service, "-n", x.Namespace, "-o", "json", "--prometheus", prometheus, "--kubeconfig", s.Cluster.Kubeconfig})
	if code != commands.ExitOK {
		return errOut.String(), fmt.Errorf("kn iter8 describe --prometheus: exit %d: %s", code, errOut.String())
	}
	// The baseline served before the start, so Prometheus has its series:
	// a warning that it has none means the history was not read.
	if e := errOut.String(); strings.Contains(e, "does not use the baseline's history") || strings.Contains(e, "Prometheus has no") {
		return errOut.String(), fmt.Errorf("kn iter8 describe --prometheus %s: %s", prometheus, errOut.String())
	}
	var d present.Description
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		return errOut.String(), fmt.Errorf("kn iter8 describe --prometheus -o json: %w", err)
	}
	if d.Phase == "Running" && d.ETA == nil {
		return errOut.String(), fmt.Errorf("kn iter8 describe --prometheus: a running canary without an ETA; stderr: %s", errOut.String())
	}
	return errOut.String(), nil
}
