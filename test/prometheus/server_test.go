package prometheus

import (
	"context"
	"testing"
	"time"
)

// testServer is a Server whose failures fail the test.
type testServer struct {
	*Server
	t testing.TB
}

// startT starts Prometheus for a test; the test fails if it cannot (the
// integration tier must run), and Prometheus is closed when the test ends,
// with its log shown if the test failed.
func startT(t testing.TB, targets []string) testServer {
	t.Helper()
	s, err := Start(context.Background(), targets)
	if err != nil {
		t.Fatalf("this integration test needs a real Prometheus: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus log:\n%s", tail(s.Log(), 4000))
		}
		s.Close()
	})
	return testServer{s, t}
}

func (s testServer) Restart() {
	s.t.Helper()
	if err := s.Server.Restart(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

func (s testServer) Settle(at time.Time) {
	s.t.Helper()
	if err := s.Server.Settle(context.Background(), at); err != nil {
		s.t.Fatal(err)
	}
}

func (s testServer) Boundary() time.Time {
	s.t.Helper()
	b, err := s.Server.Boundary(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}
