package deliver

import (
	"context"
	"testing"
	"time"
)

// reportMargin is left before the test binary's -timeout, so that a test
// that runs out of time fails with its own message and logs instead of
// go test's panic.
const reportMargin = time.Minute

// Context is a fault test's context: it ends when the test does, or shortly
// before the test binary's -timeout, and not earlier. Deliveries redeliver
// until they are answered (as Knative does with unlimited retries), so a
// busy machine makes a test slower, never makes its sender give up.
func Context(t testing.TB) context.Context {
	ctx := t.Context()
	if d, ok := deadline(t); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-reportMargin))
		t.Cleanup(cancel)
	}
	return ctx
}

func deadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}
