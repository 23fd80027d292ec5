package deliver

import (
	"context"
	"strings"
	"testing"
	"time"
)

// deadlined is a test whose binary has the given -timeout deadline.
type deadlined struct {
	testing.TB
	end time.Time
}

func (d deadlined) Deadline() (time.Time, bool) { return d.end, true }

func TestContextEndsAtTheTestsOwnBound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tb     func(*testing.T) testing.TB
		within time.Duration
		cause  string
	}{
		{name: "its own bound", tb: func(t *testing.T) testing.TB { return t }, within: time.Millisecond, cause: "its own bound of 1ms passed"},
		{name: "the binary's deadline comes first", within: time.Hour, cause: "the test binary's -timeout is 1m0s away",
			tb: func(t *testing.T) testing.TB { return deadlined{TB: t, end: time.Now().Add(reportMargin)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := Context(tc.tb(t), tc.within)
			<-ctx.Done()
			if got := context.Cause(ctx).Error(); !strings.Contains(got, tc.cause) {
				t.Errorf("cause %q, want %q", got, tc.cause)
			}
		})
	}
}
