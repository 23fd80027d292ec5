package commands

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/lockedbuf"
)

// watching starts `kn iter8 watch` on h in the background and returns once
// its watch is open, with its output and a channel for its exit code.
func watching(t *testing.T, h *harness, args ...string) (*lockedbuf.Buffer, <-chan int) {
	t.Helper()
	opened := make(chan struct{})
	var once sync.Once
	h.serving.PrependWatchReactor("services", func(k8stesting.Action) (bool, watch.Interface, error) {
		once.Do(func() { close(opened) })
		return false, nil, nil
	})
	out := &lockedbuf.Buffer{}
	h.env.stdout = out
	code := make(chan int, 1)
	go func() { code <- run(context.Background(), h.env, append([]string{"watch"}, args...)) }()
	select {
	case <-opened:
	case c := <-code:
		t.Fatalf("watch ended before watching, exit %d: %s\n%s", c, h.stderr, out)
	case <-time.After(10 * time.Second):
		t.Fatal("watch never opened a watch")
	}
	return out, code
}

// step changes the recorded experiment on shop as the functions would.
func step(t *testing.T, h *harness, key string, f func(events.ExperimentSpec, experiment.State) (experiment.State, experiment.Result, error)) {
	t.Helper()
	_, err := store.New(h.serving.ServingV1()).Update(context.Background(), "default", "shop", key, func(r store.Record) (*store.Change, error) {
		st, res, err := f(*r.Spec, *r.State)
		if err != nil {
			return nil, err
		}
		return &store.Change{State: st, Traffic: res.Traffic, Status: experiment.Summary(*r.Spec, st)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until out shows want: watch draws what it reads when it
// reads it, so a test that changes the Service twice in a row may see only
// the second.
func waitFor(t *testing.T, out *lockedbuf.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("watch never showed %q:\n%s", want, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitExit(t *testing.T, code <-chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("watch did not exit")
	}
	return -1
}

func TestWatchFollowsUntilCompleted(t *testing.T) {
	h := newHarness(t, recorded(t, "shop", "search"))
	out, code := watching(t, h, "shop")
	at := fixedNow
	step(t, h, "pause", func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		return experiment.New().Control(spec, st, events.Control{Action: events.ActionPause}, at)
	})
	waitFor(t, out, "Paused · canary")
	// A change iter8 did not make must not redraw.
	svc, err := h.serving.ServingV1().Services("default").Get(context.Background(), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Labels["team"] = "checkout"
	if _, err := h.serving.ServingV1().Services("default").Update(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	step(t, h, "promote", func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		return experiment.New().Control(spec, st, events.Control{Action: events.ActionPromote, Version: "shop-v2"}, at.Add(time.Minute))
	})
	if c := waitExit(t, code); c != exitOK {
		t.Fatalf("exit %d, want 0; stderr:\n%s\n%s", c, h.stderr, out)
	}
	got := out.String()
	for _, want := range []string{
		"Running · canary · iteration 6",
		"evidence  [",
		"Paused · canary",
		"(stopped while paused)",
		"Completed · canary · promoted shop-v2",
		// The promotion ended the canary, so the store remembered its
		// candidate: the final description says so, and its longer label
		// widens the header's column.
		"Phase:          Completed (promoted shop-v2)",
		"Past canaries:  1 (prior of the next canary's ETA)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "Paused · canary"); n != 1 {
		t.Errorf("the paused state was drawn %d times, want once", n)
	}
}

func TestWatchExitsNonzeroWhenTheExperimentFails(t *testing.T) {
	h := newHarness(t, recorded(t, "shop"))
	out, code := watching(t, h, "shop")
	step(t, h, "fail", func(spec events.ExperimentSpec, st experiment.State) (experiment.State, experiment.Result, error) {
		return experiment.New().Fail(spec, st, experiment.Failure{Reason: "revision shop-v2 was deleted"}, fixedNow)
	})
	if c := waitExit(t, code); c != exitError {
		t.Fatalf("exit %d, want 1; output:\n%s", c, out)
	}
	if want := "experiment shop-0001 on default/shop failed: revision shop-v2 was deleted"; !strings.Contains(h.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, h.stderr)
	}
}

func TestWatchEndsAtOnceOnAnEndedExperiment(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"watch", "checkout", "-n", "shop"}, exitOK},
		{[]string{"watch", "search"}, exitError},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			h := newHarness(t, recorded(t, "checkout", "search"))
			if c := h.run(tt.args...); c != tt.code {
				t.Errorf("exit %d, want %d: %s", c, tt.code, h.stderr)
			}
			if !strings.Contains(h.stdout.String(), "Phase:") {
				t.Errorf("the final description is missing:\n%s", h.stdout)
			}
		})
	}
}

func TestWatchTimeout(t *testing.T) {
	h := newHarness(t, recorded(t, "shop"))
	if c := h.run("watch", "shop", "--timeout", "300ms"); c != exitError {
		t.Errorf("exit %d, want 1", c)
	}
	if !strings.Contains(h.stderr.String(), "still running after --timeout 300ms") {
		t.Errorf("stderr: %s", h.stderr)
	}
}

func TestWatchRedrawsInPlaceOnATerminal(t *testing.T) {
	h := newHarness(t, recorded(t, "checkout"))
	h.env.isTerminal = true
	if c := h.run("watch", "checkout", "-n", "shop"); c != exitOK {
		t.Fatalf("exit %d: %s", c, h.stderr)
	}
	if !strings.HasPrefix(h.stdout.String(), "\x1b[H\x1b[2J") {
		t.Errorf("a terminal view does not start by clearing the screen: %q", h.stdout.String()[:20])
	}
}
