package reliability

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// hogCPUs starts a busy loop on every core, as processes of their own so
// that they compete with the functions and the API server for the CPU as
// a noisy neighbour would, and returns a function that stops them.
func hogCPUs(t *testing.T) func() {
	t.Helper()
	var hogs []*exec.Cmd
	for range runtime.NumCPU() {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("CPU hog: %v", err)
		}
		hogs = append(hogs, cmd)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			for _, h := range hogs {
				_ = h.Process.Kill()
				_ = h.Wait()
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestAnsweredInTimeUnderCPUContention delivers metrics windows to the
// real functions binary, each twice and four at a time, while a busy loop
// runs on every core. The functions run with a request timeout of 10 s
// (as Knative's timeoutSeconds) and the sender gives up on an answer after
// the same 10 s, as Knative's delivery would. Every attempt must be
// answered, 2xx or a retried 5xx, before the sender gives up (no attempt
// without an answer), and every window must count exactly once.
func TestAnsweredInTimeUnderCPUContention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := newEnv(ctx, t, "v1", "v2")
	const timeout = 10 * time.Second
	e.fn.Stop()
	fn, err := deliver.StartFunctions(ctx, deliver.FunctionsBin(e.c.Root), e.c.Kubeconfig, deliver.WithArgs("--request-timeout", timeout.String()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	client := deliver.NewClient(fn.URL)
	client.HTTP.Timeout = timeout
	e.client = client
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))

	const windows = 30
	var wantTrials [2]float64
	var queue []deliver.Event
	for i := range windows {
		trials := map[string]int64{"shop-v1": int64(100 + i), "shop-v2": int64(10 + i%7)}
		wantTrials[0] += float64(trials["shop-v1"])
		wantTrials[1] += float64(trials["shop-v2"])
		ev, err := deliver.New(events.TypeMetricsObserved, fmt.Sprintf("w-%d", i), e.subject("shop"), deliver.RatioWindow(i, "errors", trials, nil))
		if err != nil {
			t.Fatal(err)
		}
		queue = append(queue, ev, ev)
	}

	stop := hogCPUs(t)
	var tally deliver.Tally
	senders := client.Senders(ctx, 4, &tally, func(ev deliver.Event, r deliver.Reply, err error) {
		t.Errorf("window %s: %v, last answer %d %s: lost", ev.ID, err, r.Status, r.Body)
	})
	for _, ev := range queue {
		senders.Send(ctx, ev)
	}
	senders.Close()
	stop()

	statuses := tally.Snapshot()
	t.Logf("answers over %d attempts under contention: %v (0 = none before the sender's timeout)", tally.Attempts, statuses)
	if n := statuses[0]; n > 0 {
		t.Errorf("%d attempts got no answer within the sender's %s: the request deadline did not hold", n, timeout)
	}
	for s, n := range statuses {
		if s != 0 && s != http.StatusOK && !events.Retried(s) {
			t.Errorf("answered %d %d times: only 200 and retried statuses are expected", s, n)
		}
	}
	rec := e.record(ctx, t, "shop")
	if rec.State.Iteration != windows {
		t.Errorf("iteration %d, want %d: windows lost or counted twice", rec.State.Iteration, windows)
	}
	for v := range 2 {
		if d := rec.State.Data[v][0]; d.Trials != wantTrials[v] {
			t.Errorf("%s: %v trials, want %v", rec.State.Versions[v], d.Trials, wantTrials[v])
		}
	}
}
