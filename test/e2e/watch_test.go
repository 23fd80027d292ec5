package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/cmd/kn-iter8/commands"
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/test/lockedbuf"
)

// TestWatchShowsTheEventsOnTheBroker: `kn iter8 watch`, reading only the
// Service (as a user on a laptop can), shows the events the functions
// emitted, and they are the events a subscriber of the Broker received
// through a Trigger: the same ids and types, in order, each once, with any
// it could not show counted.
func TestWatchShowsTheEventsOnTheBroker(t *testing.T) {
	s, x, ctx := up(t, "canary-good.yaml", 11)
	out, errOut := &lockedbuf.Buffer{}, &lockedbuf.Buffer{}
	code := make(chan int, 1)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	go func() {
		code <- commands.Run(wctx, commands.Env{Stdout: out, Stderr: errOut, Now: time.Now},
			[]string{"watch", x.Service, "-n", x.Namespace, "--kubeconfig", s.Cluster.Kubeconfig})
	}()
	rec, err := s.Run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if c := <-code; c != commands.ExitOK {
		t.Fatalf("kn iter8 watch: exit %d: %s\n%s", c, errOut, out)
	}
	subject := events.Subject(x.Namespace, x.Service)
	emittedTypes := map[string]bool{events.TypeExperimentStarted: true, events.TypeExperimentAssessed: true,
		events.TypeTrafficChanged: true, events.TypeExperimentCompleted: true, events.TypeExperimentFailed: true}
	broker := s.BrokerEvents()
	// The reply to the last window is on its way through the Broker.
	if _, err := broker.Wait(ctx, 0, func(e cloudevents.Event) bool {
		return e.Subject() == subject && e.Type() == events.TypeExperimentCompleted
	}); err != nil {
		t.Fatal(err)
	}
	var received []string
	for _, e := range broker.Since(0) {
		if e.Subject() == subject && emittedTypes[e.Type()] {
			received = append(received, e.Type()+" "+e.ID())
		}
	}
	var shown []string
	missed := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if _, rest, ok := strings.Cut(line, "  emitted "); ok {
			typ, id, _ := strings.Cut(rest, " ")
			id, _, _ = strings.Cut(id, " ")
			shown = append(shown, typ+" "+id)
		}
		if _, rest, ok := strings.Cut(line, "("); ok && strings.Contains(rest, "emitted event") {
			n, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			missed += n
		}
	}
	t.Logf("kn iter8 watch printed:\n%s", out)
	t.Logf("the Broker's subscriber received %d events the functions emitted for %s over %d windows; watch showed %d and said it missed %d",
		len(received), subject, rec.State.Iteration, len(shown), missed)
	if len(shown) == 0 || !strings.HasPrefix(shown[len(shown)-1], events.TypeExperimentCompleted+" ") {
		t.Errorf("watch's last event is not the completion:\n%s", out)
	}
	// Every event shown was received, once (the order may differ: the
	// reply and the K_SINK events take two paths to the Broker), and those
	// not shown are the ones watch said it missed.
	got := map[string]int{}
	for _, r := range received {
		got[r]++
	}
	for _, sh := range shown {
		if got[sh] != 1 {
			t.Errorf("watch showed %q, which the Broker's subscriber received %d times", sh, got[sh])
		}
		got[sh] = 0
	}
	if len(shown)+missed != len(received) {
		t.Errorf("watch showed %d events and said it missed %d; the Broker delivered %d (-received +shown):\n%s",
			len(shown), missed, len(received), cmp.Diff(received, shown))
	}
}
