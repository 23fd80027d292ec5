package deliver

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// reportMargin is left before the test binary's -timeout, so that a test
// that runs out of time fails with its own message and logs instead of
// go test's panic.
const reportMargin = time.Minute

// Each fault test has its own bound, so that a hang costs minutes, not the
// binary's whole -timeout (30 minutes in `make test`). Under the CPU hog
// of `make test-hog` (docs/reliability.md) the whole suite took 421 to
// 655 s, TestAnnotationBudget 227 to 414 s of it: LongBound is twice
// its longest; the dozen other tests shared the rest of each run.
const (
	// Bound is a fault test's bound.
	Bound = 5 * time.Minute
	// LongBound is the bound of TestAnnotationBudget, which writes
	// hundreds of windows.
	LongBound = 15 * time.Minute
)

// Context is a fault test's context: it ends when the test does, when
// within has passed, or shortly before the test binary's -timeout, and not
// earlier. Deliveries redeliver until they are answered (as Knative does
// with unlimited retries), so a busy machine makes a test slower, never
// makes its sender give up; within bounds a hang. When within passes, the
// failing test logs that it did.
func Context(t testing.TB, within time.Duration) context.Context {
	d := time.Now().Add(within)
	bound := fmt.Errorf("%s: its own bound of %s passed: something hung, or the machine is slower than the bound allows", t.Name(), within)
	if end, ok := deadline(t); ok && end.Add(-reportMargin).Before(d) {
		d = end.Add(-reportMargin)
		bound = fmt.Errorf("%s: the test binary's -timeout is %s away", t.Name(), reportMargin)
	}
	ctx, cancel := context.WithDeadlineCause(t.Context(), d, bound)
	t.Cleanup(func() {
		if t.Failed() && context.Cause(ctx) == bound {
			t.Log(bound)
		}
		cancel()
	})
	return ctx
}

func deadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}
