package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/test/stack"
)

// faulty stands between the Triggers and the functions: decide tells it,
// for the n-th delivery (from 1) of an event id, what to do; every delivery
// is counted.
type faulty struct {
	mu       sync.Mutex
	attempts map[string]int
	arrived  chan string
	decide   func(id string, n int) action
	fn       *httputil.ReverseProxy
	srv      *http.Server
	addr     string
}

type action int

const (
	pass       action = iota // deliver to the functions
	fail503                  // answer 503 without delivering
	deliver503               // deliver, then answer 503 (the reply is lost)
)

func newFaulty(t *testing.T, s *stack.Stack, decide func(id string, n int) action) *faulty {
	t.Helper()
	target, _ := url.Parse(s.FunctionsURL)
	f := &faulty{attempts: map[string]int{}, arrived: make(chan string, 100), decide: decide, fn: httputil.NewSingleHostReverseProxy(target)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve)}
	go func() { _ = f.srv.Serve(l) }()
	if err := s.RouteFunctions(f.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.RouteFunctions(""); f.srv.Close() })
	return f
}

func (f *faulty) serve(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Ce-Id")
	f.mu.Lock()
	f.attempts[id]++
	n := f.attempts[id]
	f.mu.Unlock()
	select {
	case f.arrived <- id:
	default:
	}
	switch f.decide(id, n) {
	case fail503:
		http.Error(w, "injected", http.StatusServiceUnavailable)
	case deliver503:
		f.fn.ServeHTTP(discard{}, r)
		http.Error(w, "injected after delivery", http.StatusServiceUnavailable)
	default:
		f.fn.ServeHTTP(w, r)
	}
}

func (f *faulty) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id]
}

// discard is a ResponseWriter that drops the functions' answer.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// window sends one metrics window through the Broker with id, drawn from
// the scenario at an even split (bad: a body that is not a window), and
// returns after the fan-out, retries and dead-lettering included.
func window(ctx context.Context, s *stack.Stack, x stack.Experiment, id string, good bool) error {
	gen, err := simulate.NewGenerator(x.Scenario, x.Seed)
	if err != nil {
		return err
	}
	split := map[string]int{}
	for _, v := range x.Scenario.Experiment.Versions() {
		split[v] = 100 / len(x.Scenario.Experiment.Versions())
	}
	now := time.Now().UTC().Truncate(time.Second)
	w := gen.Window(now.Add(-time.Minute), now, x.Scenario.Traffic.RequestsPerInterval, split)
	obs := events.NewMetricsObserved(w.Window.Start.Time, w.Window.End.Time)
	for v, ms := range w.Versions {
		for m, o := range ms {
			obs.Set(x.Revision(v), m, o)
		}
	}
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("/e2e/delivery")
	e.SetType(events.TypeMetricsObserved)
	e.SetSubject(events.Subject(x.Namespace, x.Service))
	if good {
		err = e.SetData(events.ContentTypeJSON, obs)
	} else {
		err = e.SetData(events.ContentTypeJSON, map[string]any{"window": "not a window"})
	}
	if err != nil {
		return err
	}
	_, err = s.SendEvent(ctx, e)
	return err
}

func iterations(ctx context.Context, t *testing.T, s *stack.Stack, x stack.Experiment) int {
	t.Helper()
	rec, err := s.Store.Get(ctx, x.Namespace, x.Service)
	if err != nil {
		t.Fatal(err)
	}
	return rec.State.Iteration
}

// TestDeliveryThroughTheBroker proves Knative's delivery contract with the
// real broker ingress, InMemoryChannel dispatcher and broker filter, and
// iter8's side of it: retried 5xx counted once, 4xx not retried, exhausted
// retries dead-lettered with Knative's error extensions, and a function
// that comes back in time loses nothing.
func TestDeliveryThroughTheBroker(t *testing.T) {
	s, x, ctx := up(t, "canary-good.yaml", 1)
	base := iterations(ctx, t, s, x)

	t.Run("5xx is retried and the window counted once", func(t *testing.T) {
		f := newFaulty(t, s, func(_ string, n int) action {
			return map[int]action{1: fail503, 2: deliver503}[n] // then pass
		})
		if err := window(ctx, s, x, "retried-5xx", true); err != nil {
			t.Fatal(err)
		}
		if n := f.count("retried-5xx"); n != 3 {
			t.Errorf("delivered %d times, want 3 (503, 503 after applying, then 2xx)", n)
		}
		if got := iterations(ctx, t, s, x); got != base+1 {
			t.Errorf("iteration %d after one window redelivered, want %d: counted more than once", got, base+1)
		}
		base++
	})

	t.Run("4xx is not retried and goes to the dead-letter sink", func(t *testing.T) {
		f := newFaulty(t, s, func(string, int) action { return pass })
		mark := s.DeadLetters().Mark()
		if err := window(ctx, s, x, "bad-4xx", false); err != nil {
			t.Fatal(err)
		}
		if n := f.count("bad-4xx"); n != 1 {
			t.Errorf("a 4xx was delivered %d times, want once", n)
		}
		dl, err := s.DeadLetters().Wait(ctx, mark, func(e cloudevents.Event) bool { return e.ID() == "bad-4xx" })
		if err != nil {
			t.Fatal(err)
		}
		if code := dl.Extensions()["knativeerrorcode"]; code != "400" {
			t.Errorf("knativeerrorcode %v, want 400", code)
		}
		if got := iterations(ctx, t, s, x); got != base {
			t.Errorf("iteration %d, want %d: a refused window was counted", got, base)
		}
	})

	t.Run("exhausted retries reach the dead-letter sink with Knative's extensions", func(t *testing.T) {
		f := newFaulty(t, s, func(string, int) action { return fail503 })
		mark := s.DeadLetters().Mark()
		if err := window(ctx, s, x, "always-5xx", true); err != nil {
			t.Fatal(err)
		}
		if n := f.count("always-5xx"); n != 6 {
			t.Errorf("delivered %d times, want 6 (retry: 5 in config/)", n)
		}
		dl, err := s.DeadLetters().Wait(ctx, mark, func(e cloudevents.Event) bool { return e.ID() == "always-5xx" })
		if err != nil {
			t.Fatal(err)
		}
		ext := dl.Extensions()
		if ext["knativeerrorcode"] != "503" || ext["knativeerrordest"] == nil {
			t.Errorf("dead letter extensions %v, want knativeerrorcode 503 and knativeerrordest", ext)
		}
		if got := iterations(ctx, t, s, x); got != base {
			t.Errorf("iteration %d, want %d", got, base)
		}
		// Replay, as docs/reliability.md says: send the dead letter back to
		// the Broker once the functions are healthy. It counts once.
		_ = s.RouteFunctions("")
		dl.SetExtension("knativeerrorcode", nil)
		dl.SetExtension("knativeerrordest", nil)
		dl.SetExtension("knativeerrordata", nil)
		if _, err := s.SendEvent(ctx, dl); err != nil {
			t.Fatal(err)
		}
		if got := iterations(ctx, t, s, x); got != base+1 {
			t.Errorf("iteration %d after the replay, want %d", got, base+1)
		}
		base++
	})

	t.Run("a function down for a while loses nothing once back", func(t *testing.T) {
		back := make(chan struct{})
		f := newFaulty(t, s, func(_ string, n int) action {
			select {
			case <-back:
				return pass
			default:
				return fail503 // down: as a pod that is not ready
			}
		})
		done := make(chan error, 1)
		go func() { done <- window(ctx, s, x, "while-down", true) }()
		// Come back after Knative has retried twice.
		for f.count("while-down") < 2 {
			select {
			case <-f.arrived:
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
		close(back)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := iterations(ctx, t, s, x); got != base+1 {
			t.Errorf("iteration %d, want %d: the window sent while the function was down was lost or doubled", got, base+1)
		}
	})
}
