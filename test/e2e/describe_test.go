package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/cmd/kn-iter8/commands"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/stack"
)

// describedMatches runs the kn plugin's `describe -o json` against the API
// server, as a user would between two windows, and checks that the traffic
// it shows is the Service's spec.traffic and its phase the state's.
func describedMatches(ctx context.Context, s *stack.Stack, x stack.Experiment, rec store.Record) error {
	var out, errOut bytes.Buffer
	code := commands.Run(ctx, commands.Env{Stdout: &out, Stderr: &errOut, Now: time.Now},
		[]string{"describe", x.Service, "-n", x.Namespace, "-o", "json", "--kubeconfig", s.Cluster.Kubeconfig})
	if code != commands.ExitOK {
		return fmt.Errorf("kn iter8 describe: exit %d: %s", code, errOut.String())
	}
	var d present.Description
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		return fmt.Errorf("kn iter8 describe -o json: %w", err)
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
